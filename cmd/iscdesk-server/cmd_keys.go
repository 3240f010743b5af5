package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/server/keys"
	"github.com/iscdesk/iscdesk/server/serverconfig"
)

func keysCommand() *command {
	return &command{
		name:    "keys",
		summary: "The vendor signing keys: show, rotate.",
		sub:     []*command{keysShowCommand(), keysRotateCommand()},
	}
}

func keysShowCommand() *command {
	return &command{
		name:    "show",
		args:    "[--dir DIR] [--json]",
		summary: "Print the current vendor public key ('vendor key: …') and the keys still valid.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			dir := fs.String("dir", serverconfig.DefaultDir, "the server's `folder`")
			asJSON := fs.Bool("json", false, "print the published keys as JSON (as GET /v1/keys)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("keys show: takes no arguments")
				}
				ring, err := keys.Load(serverconfig.Folder{Dir: *dir}.KeysPath())
				if err != nil {
					return errs.E("vendor key", errs.Invalid, err)
				}
				pub := ring.Published(time.Now())
				if *asJSON {
					return printJSON(io.out, map[string]any{"keys": pub})
				}
				cur := pub[len(pub)-1]
				fmt.Fprintf(io.out, "vendor key: %s\nkid: %s\n", cur.PublicKey, cur.Kid)
				for _, k := range pub[:len(pub)-1] {
					fmt.Fprintf(io.out, "previous key: %s (kid %s) valid until %s\n", k.PublicKey, k.Kid, rfc(*k.NotAfter))
				}
				return nil
			}
		},
	}
}

func keysRotateCommand() *command {
	return &command{
		name: "rotate",
		args: "[--dir DIR] [--overlap DURATION]",
		summary: "Make a new vendor signing key, endorsed by the current one, which stays valid for the\n" +
			"overlap (default: the config's key_overlap). A running server picks it up within a minute.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			dir := fs.String("dir", serverconfig.DefaultDir, "the server's `folder`")
			overlap := fs.Duration("overlap", 0, "how long the old key stays valid, e.g. 720h")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("keys rotate: takes no arguments")
				}
				folder := serverconfig.Folder{Dir: *dir}
				cfg, err := folder.Load()
				if err != nil {
					return errs.E("config", errs.Invalid, err)
				}
				ring, err := keys.Load(folder.KeysPath())
				if err != nil {
					return errs.E("vendor key", errs.Invalid, err)
				}
				d := *overlap
				if d == 0 {
					d = cfg.KeyOverlap.Duration
				}
				next, err := ring.Rotate(time.Now(), d)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(io.out, "vendor key: %s\nkid: %s\nthe previous key stays valid for %s\n", next.PublicKey, next.Kid, d)
				return err
			}
		},
	}
}
