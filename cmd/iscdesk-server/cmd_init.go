package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/server/serverconfig"
	"github.com/iscdesk/iscdesk/token"
)

func initCommand() *command {
	return &command{
		name: "init",
		args: "[--dir DIR]",
		summary: "Create the server's folder: a config with defaults and a new vendor signing key.\n\n" +
			"It prints 'vendor key: <base64 public key>': the value the desktop installers pin\n" +
			"(server_key). It never overwrites an existing config or key.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			dir := fs.String("dir", serverconfig.DefaultDir, "the server's `folder`")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("init: takes no arguments")
				}
				ring, err := serverconfig.Folder{Dir: *dir}.Init(time.Now())
				if err != nil {
					return errs.E("init", errs.Invalid, err)
				}
				_, err = fmt.Fprintf(io.out, "vendor key: %s\n", token.EncodePublicKey(ring.Current()))
				return err
			}
		},
	}
}
