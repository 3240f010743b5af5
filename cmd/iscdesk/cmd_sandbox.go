package main

import (
	"context"
	"errors"
	"flag"
	"path/filepath"

	"github.com/iscdesk/iscdesk/licensing/sandbox"
)

func sandboxCommand() *command {
	return &command{
		name: "sandbox",
		args: "[--addr HOST:PORT] [--state FILE]",
		summary: "Run the local marketplace sandbox (loopback only) until interrupted.\n\n" +
			"It speaks the marketplace license API (activate, query, usage report) with AK/SK\n" +
			"signatures, and keeps its credentials and demo license codes in the state file,\n" +
			"created on first start. It prints 'listening on http://HOST:PORT', then 'ak:' and\n" +
			"'sk:' lines, then one 'code: PL… (state)' line per demo code.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			addr := fs.String("addr", sandbox.DefaultAddr, "listen on `HOST:PORT` (a loopback address; port 0 picks one)")
			state := fs.String("state", "", "keep the sandbox state in `FILE` (default: sandbox.json in the user's iscdesk config folder)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("sandbox: takes no arguments")
				}
				path := *state
				if path == "" {
					path = filepath.Join(io.wire().DataDir(), "sandbox.json")
				}
				srv, err := sandbox.Open(path)
				if err != nil {
					return err
				}
				var printErr error
				err = srv.ListenAndServe(ctx, *addr, func(url string) {
					printErr = srv.Print(io.out, url)
					if f, ok := io.out.(interface{ Sync() error }); ok {
						_ = f.Sync()
					}
				})
				if errors.Is(err, sandbox.ErrNotLoopback) {
					return usageErrorf("%v", err)
				}
				if err != nil {
					return err
				}
				return printErr
			}
		},
	}
}
