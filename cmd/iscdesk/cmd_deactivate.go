package main

import (
	"context"
	"flag"
	"fmt"
)

func deactivateCommand() *command {
	return &command{
		name: "deactivate",
		summary: "Free this machine's seat on the license server and remove the cached activation.\n\n" +
			"The request is signed by this machine's device key, so only this machine can free\n" +
			"its seat. When the server cannot be reached nothing changes here (exit 4); 'iscdesk\n" +
			"forget' removes the activation here only, and the vendor's support can free the seat.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("deactivate: takes no arguments")
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
