package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
)

func codesCommand() *command {
	return &command{
		name:    "codes",
		summary: "What the server knows of license codes: list, show CODE.",
		sub:     []*command{codesListCommand(), codesShowCommand()},
	}
}

func codesListCommand() *command {
	return &command{
		name:    "list",
		args:    "[--dir DIR] [--db URL] [--json]",
		summary: "List the codes: marketplace status, expiry, seats bound of seats.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			ff := addFolderFlags(fs)
			asJSON := fs.Bool("json", false, "print a JSON array")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("codes list: takes no arguments")
				}
				return withService(ctx, ff, io, func(w *wired) error {
					views, err := w.service.Codes(ctx)
					if err != nil {
						return err
					}
					if *asJSON {
						out := []codeJSON{}
						for _, v := range views {
							out = append(out, codeOut(v, false))
						}
						return printJSON(io.out, out)
					}
					tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "CODE\tSTATUS\tPRODUCT\tSEATS\tEXPIRES\tLAST QUERY")
					for _, v := range views {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", v.Code.Code, v.Code.Status, v.Code.ProductID, v.Bound(), v.Seats,
							day(v.Code.ExpireTime), day(v.Code.QueriedAt))
					}
					return tw.Flush()
				})
			}
		},
	}
}

func codesShowCommand() *command {
	return &command{
		name:    "show",
		args:    "CODE [--dir DIR] [--db URL] [--json]",
		summary: "Show a code (or its SHA-256 hash) with every activation of it.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			ff := addFolderFlags(fs)
			asJSON := fs.Bool("json", false, "print a JSON object")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usageErrorf("codes show: one CODE is needed")
				}
				return withService(ctx, ff, io, func(w *wired) error {
					v, err := w.service.CodeInfo(ctx, args[0])
					if err != nil {
						return err
					}
					if *asJSON {
						return printJSON(io.out, codeOut(v, true))
					}
					fmt.Fprintf(io.out, "code:       %s\nhash:       %s\nstatus:     %s\nproduct:    %s\norder:      %s\nseats:      %d of %d bound\nexpires:    %s\nlast query: %s\n\n",
						v.Code.Code, v.Code.Hash, v.Code.Status, v.Code.ProductID, v.Code.OrderID, v.Bound(), v.Seats,
						rfc(v.Code.ExpireTime), rfc(v.Code.QueriedAt))
					if err := printActivations(io.out, v.Activations); err != nil || !v.Floating {
						return err
					}
					return printLeases(io.out, v.Leases)
				})
			}
		},
	}
}
