package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/osid"
	"github.com/iscdesk/iscdesk/licensing"
)

func leaseCommand() *command {
	return &command{
		name: "lease",
		args: "borrow DAYS | return | status  [--json]",
		summary: "Borrow a floating license's seat for use without the license server.\n\n" +
			"'borrow DAYS' checks out a lease of the pool for DAYS days (at most what the vendor\n" +
			"allows): this machine's programs then get their licenses with the server out of\n" +
			"reach, until the borrow lapses by itself. 'return' gives it back early, freeing the\n" +
			"seat for others. 'status' shows the borrow held here. Only floating licenses lend\n" +
			"leases; a node-locked one holds its seat already.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			asJSON := fs.Bool("json", false, "print the result as a JSON object")
			return func(ctx context.Context, args []string) error {
				if len(args) == 0 {
					return usageErrorf("lease: want borrow DAYS, return or status")
				}
				svc := io.wire().Licenses()
				var b licensing.Lease
				var held bool
				var err error
				switch args[0] {
				case "borrow":
					if len(args) != 2 {
						return usageErrorf("lease borrow: want the number of days")
					}
					days, perr := strconv.Atoi(args[1])
					if perr != nil || days < 1 || days > 366 {
						return usageErrorf("lease borrow: %q is not a number of days (1 or more)", args[1])
					}
					b, err = svc.Borrow(ctx, days, osid.DeviceLicenseID)
					held = err == nil
				case "return":
					if len(args) != 1 {
						return usageErrorf("lease return: takes no more arguments")
					}
					b, err = svc.ReturnBorrow(ctx)
				case "status":
					if len(args) != 1 {
						return usageErrorf("lease status: takes no more arguments")
					}
					b, held, err = svc.Borrowed(ctx)
				default:
					return usageErrorf("lease: unknown %q: want borrow DAYS, return or status", args[0])
				}
				if err != nil {
					return err
				}
				return printBorrow(io, *asJSON, args[0], b, held)
			}
		},
	}
}

// borrowJSON is the --json output of `iscdesk lease`: never the lease's
// secret or its device license.
type borrowJSON struct {
	Action        string     `json:"action"`
	Borrowed      bool       `json:"borrowed"`
	LeaseID       string     `json:"lease_id,omitempty"`
	BorrowedUntil *time.Time `json:"borrowed_until,omitempty"`
}

func printBorrow(io *stdio, asJSON bool, action string, b licensing.Lease, held bool) error {
	if asJSON {
		out := borrowJSON{Action: action, Borrowed: held, LeaseID: b.ID}
		if held {
			out.BorrowedUntil = &b.BorrowedUntil
		}
		return printJSON(io.out, out)
	}
	switch {
	case action == "return" && b.ID == "":
		fmt.Fprintln(io.out, "No lease is borrowed on this machine.")
	case action == "return":
		fmt.Fprintf(io.out, "The borrowed lease %s was returned: its seat is free for others.\n", b.ID)
	case held:
		fmt.Fprintf(io.out, "A lease is borrowed on this machine until %s: programs here get licenses without the server until then.\n",
			b.BorrowedUntil.Local().Format("2006-01-02 15:04 MST"))
	default:
		fmt.Fprintln(io.out, "No lease is borrowed on this machine.")
	}
	return nil
}
