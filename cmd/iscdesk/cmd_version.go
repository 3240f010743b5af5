package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/iscdesk/iscdesk/internal/version"
)

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "Print the version.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			return func(_ context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("version: takes no arguments")
				}
				_, err := fmt.Fprintf(io.out, "iscdesk %s\n", version.Version)
				return err
			}
		},
	}
}
