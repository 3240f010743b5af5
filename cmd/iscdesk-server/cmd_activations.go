package main

import (
	"context"
	"flag"
	"fmt"
)

func activationsCommand() *command {
	return &command{
		name:    "activations",
		summary: "The support desk: list, show ID, revoke ID, answer FILE (air-gapped machines).",
		sub:     []*command{activationsListCommand(), activationsShowCommand(), activationsRevokeCommand(), activationsAnswerCommand()},
	}
}

func activationsListCommand() *command {
	return &command{
		name:    "list",
		args:    "[--code CODE] [--dir DIR] [--db URL] [--json]",
		summary: "List activations, newest first (of one code with --code).",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			ff := addFolderFlags(fs)
			code := fs.String("code", "", "only the activations of `CODE` (or its SHA-256 hash)")
			asJSON := fs.Bool("json", false, "print a JSON array")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("activations list: takes no arguments")
				}
				return withService(ctx, ff, io, func(w *wired) error {
					list, err := w.service.Activations(ctx, *code)
					if err != nil {
						return err
					}
					if *asJSON {
						out := []activationJSON{}
						for _, a := range list {
							out = append(out, activationOut(a))
						}
						return printJSON(io.out, out)
					}
					return printActivations(io.out, list)
				})
			}
		},
	}
}

func activationsShowCommand() *command {
	return &command{
		name:    "show",
		args:    "ID [--dir DIR] [--db URL] [--json]",
		summary: "Show one activation.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			ff := addFolderFlags(fs)
			asJSON := fs.Bool("json", false, "print a JSON object")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usageErrorf("activations show: one ID is needed")
				}
				return withService(ctx, ff, io, func(w *wired) error {
					a, err := w.service.Activation(ctx, args[0])
					if err != nil {
						return err
					}
					o := activationOut(a)
					if *asJSON {
						return printJSON(io.out, o)
					}
					_, err = fmt.Fprintf(io.out, "id:          %s\nstate:       %s\nhost:        %s\napp:         %s %s\ncode hash:   %s\nfingerprint: %s\ndevice key:  %s\ncreated:     %s\nlast check:  %s\nended:       %s\nnote:        %s\n",
						o.ID, o.State, o.Host, o.App, o.Version, o.CodeHash, o.Fingerprint, o.DeviceKey, o.CreatedAt, o.LastCheckAt, o.EndedAt, o.Note)
					return err
				})
			}
		},
	}
}

func activationsRevokeCommand() *command {
	return &command{
		name: "revoke",
		args: "ID [--note TEXT] [--dir DIR] [--db URL]",
		summary: "Free an activation's seat: the device learns it at its next check (exit 3 there).\n" +
			"Revoking an activation that holds no seat any more changes nothing.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			ff := addFolderFlags(fs)
			note := fs.String("note", "", "why (shown to the device), e.g. a ticket number")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usageErrorf("activations revoke: one ID is needed")
				}
				return withService(ctx, ff, io, func(w *wired) error {
					if err := w.service.Revoke(ctx, args[0], *note); err != nil {
						return err
					}
					_, err := fmt.Fprintf(io.out, "revoked %s\n", args[0])
					return err
				})
			}
		},
	}
}
