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
		summary: "Validate the cached activation: may the software run on this machine now?\n\n" +
			"It asks the license server for a fresh token first (the configured server, else\n" +
			"the one that issued the activation) and falls back to the cached token, which is\n" +
			"valid offline until its check_by, when the server cannot be reached. The token is\n" +
			"checked against the pinned server_key. Exit code 0 means valid.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			asJSON := fs.Bool("json", false, "print the result as a JSON object")
			offline := fs.Bool("offline", false, "do not ask the license server: validate the cached token only")
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
