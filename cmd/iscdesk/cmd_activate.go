package main

import (
	"context"
	"flag"
	"time"

	"github.com/iscdesk/iscdesk/licensing"
)

func activateCommand() *command {
	return &command{
		name: "activate",
		args: "[--endpoint URL] [--json] CODE",
		summary: "Activate a license code with the marketplace and cache the authorization.\n\n" +
			"Activating a code that is already active on this account confirms it and caches\n" +
			"it again. Credentials come from ISCDESK_AK/ISCDESK_SK or 'iscdesk credentials set'.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			endpoint := fs.String("endpoint", "", "marketplace base `URL` (default: configured, else the marketplace)")
			asJSON := fs.Bool("json", false, "print the result as a JSON object")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usageErrorf("activate: want one license code, got %d arguments", len(args))
				}
				code, err := licensing.NormalizeCode(args[0])
				if err == nil {
					var st licensing.State
					st, err = io.wire().Licenses().ActivateAt(ctx, *endpoint, code)
					if err == nil {
						if *asJSON {
							return printJSON(io.out, stateJSON(st, code, nil))
						}
						printState(io.out, st, time.Now())
						return nil
					}
				}
				if *asJSON {
					_ = printJSON(io.out, stateJSON(licensing.State{}, args[0], err))
				}
				return err
			}
		},
	}
}
