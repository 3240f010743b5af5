//go:build unix

package apps

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Unpacked files and folders never keep group or other write permission
// (a vendor's 0777 would let any local user replace a program every user
// runs), nor set-id bits; execute bits stay (issue 11, finding 8).
func TestUnpackMasksWritableModes(t *testing.T) {
	entries := []entry{
		{name: "open/", dir: true, mode: 0o777},
		{name: "open/tool", body: "#!/bin/sh\n", mode: 0o777},
		{name: "open/data", body: "x", mode: 0o666},
		{name: "open/setuid", body: "#!/bin/sh\n", mode: 0o4755},
	}
	for _, kind := range []string{"tar.gz", "zip"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			archive := makeArchive(t, dir, "software."+kind, kind, entries)
			f, err := detectFormat(archive)
			if err != nil {
				t.Fatal(err)
			}
			stage := filepath.Join(dir, "stage")
			if err := os.Mkdir(stage, 0o700); err != nil {
				t.Fatal(err)
			}
			u := unpacker{maxBytes: 1 << 20, maxEntries: 100, progress: func(Progress) {}}
			if err := u.unpack(context.Background(), archive, f, stage); err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]fs.FileMode{"open": 0o755, "open/tool": 0o755, "open/data": 0o644, "open/setuid": 0o755} {
				fi, err := os.Stat(filepath.Join(stage, name))
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); got != want {
					t.Errorf("%s: mode %v, want %v", name, got, want)
				}
			}
		})
	}
}
