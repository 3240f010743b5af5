package main

import (
	"context"
	"flag"
	"fmt"
)

func migrateCommand() *command {
	return &command{
		name:    "migrate",
		args:    "[--dir DIR] [--db URL]",
		summary: "Apply the pending schema migrations to the database and exit (serve applies them too).",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			ff := addFolderFlags(fs)
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("migrate: takes no arguments")
				}
				cfg, url, err := ff.load()
				if err != nil {
					return err
				}
				st, err := openStore(ctx, url, false, nil)
				if err != nil {
					return err
				}
				defer st.Close()
				v, err := st.Migrate(ctx, newLogger(io.err, cfg.LogLevel))
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(io.out, "schema version %d (%s)\n", v, st.Dialect())
				return err
			}
		},
	}
}
