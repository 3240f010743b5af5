package main

import (
	"context"
	"flag"
	"fmt"
)

func forgetCommand() *command {
	return &command{
		name: "forget",
		summary: "Remove the cached activation from this machine only: the seat stays taken on\n" +
			"the license server ('iscdesk deactivate' frees it).",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("forget: takes no arguments")
				}
				licenses := io.wire().Licenses()
				if err := licenses.Forget(ctx); err != nil {
					return err
				}
				fmt.Fprintf(io.out, "The cached activation was removed from this machine (%s); its seat stays taken on the license server.\n", licenses.Store.Kind())
				return nil
			}
		},
	}
}
