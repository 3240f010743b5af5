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
			endpoint := fs.String("endpoint", "", "marketplace base `URL` (default: configured, else the marketplace); refused when the machine-wide file sets it")
			asJSON := fs.Bool("json", false, "print the result as a JSON object")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usageErrorf("activate: want one license code, got %d arguments", len(args))
				}
				fail := func(err error) error {
					if *asJSON {
						_ = printJSON(io.out, stateJSON(licensing.State{}, args[0], err))
					}
					return err
				}
				if *endpoint != "" {
					if err := io.checkOverride("endpoint", "--endpoint", *endpoint); err != nil {
						return fail(err)
					}
				}
				code, err := licensing.NormalizeCode(args[0])
				if err != nil {
					return fail(err)
				}
				st, err := io.wire().Licenses().ActivateAt(ctx, *endpoint, code)
				if err != nil {
					return fail(err)
				}
				if *asJSON {
					return printJSON(io.out, stateJSON(st, code, nil))
				}
				printState(io.out, st, time.Now())
				return nil
			}
		},
	}
}
