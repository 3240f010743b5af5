package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/iscdesk/iscdesk/licensing"
)

func deactivateCommand() *command {
	return &command{
		name: "deactivate",
		summary: "Free this machine's seat on the license server and remove the cached activation.\n\n" +
			"The request is signed by this machine's device key, so only this machine can free\n" +
			"its seat. When the server cannot be reached nothing changes here (exit 4); 'iscdesk\n" +
			"forget' removes the activation here only, and the vendor's support can free the seat.\n" +
			"With no route to the server, --request-file writes a deactivation request signed by\n" +
			"the device key and removes the activation here; the seat is freed when the vendor\n" +
			"answers it ('iscdesk-server activations answer FILE').",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			requestFile := fs.String("request-file", "", "no route to the server: write a deactivation request to `FILE` ('-' prints it) and remove the activation here")
			asJSON := fs.Bool("json", false, "with --request-file: print the result as a JSON object")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("deactivate: takes no arguments")
				}
				if *requestFile != "" {
					var written licensing.RequestFile
					_, err := io.wire().Licenses().RequestDeactivation(ctx, func(f licensing.RequestFile) error {
						written = f
						return io.writeRequestFile(*requestFile, f.Text)
					})
					if err != nil {
						return err
					}
					if *asJSON && *requestFile != "-" {
						return printJSON(io.out, requestOut(written, *requestFile))
					}
					printRequest(io.out, written, *requestFile)
					return nil
				}
				if *asJSON {
					return usageErrorf("deactivate: --json goes with --request-file")
				}
				r, err := io.wire().Licenses().Deactivate(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(io.out, "The seat of %s on this machine was freed, and the activation removed.\n", r.License)
				return nil
			}
		},
	}
}
