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
			return func(context.Context, []string) error {
				_, err := fmt.Fprintf(io.out, "iscdesk-server %s\n", version.Version)
				return err
			}
		},
	}
}
