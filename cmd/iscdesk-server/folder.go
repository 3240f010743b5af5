package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"strings"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/server/serverconfig"
	"github.com/iscdesk/iscdesk/server/store/sqlstore"
)

// folderFlags are the flags of every command that works on the folder.
type folderFlags struct {
	dir *string
	db  *string
}

func addFolderFlags(fs *flag.FlagSet) folderFlags {
	return folderFlags{
		dir: fs.String("dir", serverconfig.DefaultDir, "the server's `folder` (config.json, the vendor key, the SQLite database)"),
		db:  fs.String("db", "", "the database `URL` (sqlite:PATH or postgres://…), instead of the config's"),
	}
}

func (f folderFlags) folder() serverconfig.Folder { return serverconfig.Folder{Dir: *f.dir} }

// load reads the config and resolves the database URL.
func (f folderFlags) load() (serverconfig.Config, string, error) {
	cfg, err := f.folder().Load()
	if err != nil {
		return cfg, "", errs.E("config", errs.Invalid, err)
	}
	db := cfg.DB
	if *f.db != "" {
		db = *f.db
	}
	return cfg, f.folder().DatabaseURL(db), nil
}

// openStore opens the database (migrating it when asked).
func openStore(ctx context.Context, url string, migrate bool, log *slog.Logger) (*sqlstore.Store, error) {
	st, err := sqlstore.Open(ctx, url, sqlstore.Options{Migrate: migrate, Logger: log})
	if err != nil {
		kind := errs.Unavailable
		if strings.HasPrefix(err.Error(), "database URL") {
			kind = errs.Invalid
		}
		return nil, errs.E("database", kind, err)
	}
	return st, nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
