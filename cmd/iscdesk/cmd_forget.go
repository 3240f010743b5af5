package main

import (
	"context"
	"flag"
	"fmt"
)

func forgetCommand() *command {
	return &command{
		name:    "forget",
		summary: "Remove the cached authorization from this machine (the license stays activated\non the marketplace).",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("forget: takes no arguments")
				}
				licenses := io.wire().Licenses()
				if err := licenses.Forget(ctx); err != nil {
					return err
				}
				fmt.Fprintf(io.out, "The cached authorization was removed (%s).\n", licenses.Store.Kind())
				return nil
			}
		},
	}
}
