package main

import (
	"context"
	"flag"
	"time"
)

func statusCommand() *command {
	return &command{
		name: "status",
		args: "[--json] [--offline]",
		summary: "Validate the cached authorization: may the software run on this machine now?\n\n" +
			"It asks the marketplace first (the endpoint the code was activated with, unless\n" +
			"one is configured) and falls back to the cache within the offline grace period\n" +
			"when the marketplace cannot be reached. Exit code 0 means valid.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			asJSON := fs.Bool("json", false, "print the result as a JSON object")
			offline := fs.Bool("offline", false, "do not ask the marketplace: validate the cache only")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("status: takes no arguments")
				}
				st, err := io.wire().Licenses().Status(ctx, !*offline)
				if err == nil && !st.Verdict.Valid() {
					err = st.Verdict.Err
				}
				if *asJSON {
					if jerr := printJSON(io.out, stateJSON(st, "", err)); jerr != nil && err == nil {
						return jerr
					}
				} else if st.Record.License != "" {
					printState(io.out, st, time.Now())
				}
				return err
			}
		},
	}
}
