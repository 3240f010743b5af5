//go:build unix

package apps

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// entry is one archive member for the test packages.
type entry struct {
	name string
	body string
	mode int64  // 0: 0644 for files, 0755 for folders
	dir  bool   // a folder
	link string // a symbolic link to this target
	hard string // a hard link to this archive path
}

const (
	// installSh behaves as the published rules ask: silent, target folder
	// from $1 (equal to ISCDESK_INSTALL_DIR), no input, safe to run over a
	// half-finished install. With ISCDESK_TEST_SLEEP set it writes its pid
	// there and sleeps, so a test can kill it mid-install.
	installSh = `#!/bin/sh
set -e
test "$1" = "$ISCDESK_INSTALL_DIR"
if read -r line; then echo "standard input is not empty" >&2; exit 9; fi
if [ -n "$ISCDESK_TEST_SLEEP" ]; then echo $$ > "$ISCDESK_TEST_SLEEP.tmp"; mv "$ISCDESK_TEST_SLEEP.tmp" "$ISCDESK_TEST_SLEEP"; sleep 30; fi
mkdir -p "$1"
cp -R payload/. "$1"/
echo installed into "$1"
`
	uninstallSh = `#!/bin/sh
rm -rf "$1/bin" "$1/lib" "$1/readme.txt"
echo uninstalled
`
)

// vendorEntries is a complete package: scripts, a payload with an
// executable, a library and a link to it, and software.json when manifest
// is not "". prefix is "" or a single top folder ("acme/").
func vendorEntries(prefix, manifest string) []entry {
	e := []entry{
		{name: prefix + "install.sh", body: installSh, mode: 0o755},
		{name: prefix + "uninstall.sh", body: uninstallSh, mode: 0o755},
		{name: prefix + "payload/", dir: true},
		{name: prefix + "payload/bin/tool", body: "#!/bin/sh\necho tool\n", mode: 0o755},
		{name: prefix + "payload/readme.txt", body: "read me\n"},
		{name: prefix + "payload/lib/libx.so.1", body: strings.Repeat("\x7fELF", 1000)},
		{name: prefix + "payload/lib/libx.so", link: "libx.so.1"},
		{name: prefix + "payload/bin/libx", link: "../lib/libx.so.1"},
	}
	if prefix != "" {
		e = append([]entry{{name: prefix, dir: true}}, e...)
	}
	if manifest != "" {
		e = append(e, entry{name: prefix + "software.json", body: manifest})
	}
	return e
}

// withScript returns entries with the body of the named script replaced.
func withScript(entries []entry, script, body string) []entry {
	out := append([]entry(nil), entries...)
	for i := range out {
		if filepath.Base(out[i].name) == script {
			out[i].body = body
		}
	}
	return out
}

// makeArchive writes entries as kind ("tar.gz", "tar" or "zip") to dir/name.
func makeArchive(t testing.TB, dir, name, kind string, entries []entry) string {
	t.Helper()
	var buf bytes.Buffer
	switch kind {
	case "tar.gz":
		gz := gzip.NewWriter(&buf)
		writeTar(t, gz, entries)
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
	case "tar":
		writeTar(t, &buf, entries)
	case "zip":
		writeZip(t, &buf, entries)
	default:
		t.Fatalf("kind %q", kind)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var testTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func writeTar(t testing.TB, w interface{ Write([]byte) (int, error) }, entries []entry) {
	t.Helper()
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, ModTime: testTime, Mode: e.mode, Format: tar.FormatPAX}
		switch {
		case e.dir:
			h.Typeflag = tar.TypeDir
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		case e.link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.link, 0o777
		case e.hard != "":
			h.Typeflag, h.Linkname = tar.TypeLink, e.hard
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeZip(t testing.TB, w interface{ Write([]byte) (int, error) }, entries []entry) {
	t.Helper()
	zw := zip.NewWriter(w)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: testTime}
		body := e.body
		switch {
		case e.dir:
			h.SetMode(fs.ModeDir | 0o755)
			h.Method = zip.Store
		case e.link != "":
			h.SetMode(fs.ModeSymlink | 0o777)
			body = e.link
		case e.hard != "":
			t.Fatalf("zip has no hard links (%s)", e.name)
		default:
			mode := fs.FileMode(e.mode)
			if mode == 0 {
				mode = 0o644
			}
			h.SetMode(mode)
		}
		fw, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// testManager returns a Manager whose folders are all in a fresh temporary
// folder, returned too.
func testManager(t testing.TB) (*Manager, string) {
	t.Helper()
	base := t.TempDir()
	return &Manager{
		Root:          filepath.Join(base, "records"),
		AppsDir:       filepath.Join(base, "apps"),
		ScriptTimeout: 30 * time.Second,
	}, base
}

func sha256File(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// assertClean fails if an install left a staging folder or journal entry.
func assertClean(t testing.TB, m *Manager, base string) {
	t.Helper()
	_ = filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), stagePrefix) {
			t.Errorf("staging folder left behind: %s", path)
		}
		return nil
	})
	if j := m.readJournal(); len(j) != 0 {
		t.Errorf("staging journal not empty: %v", j)
	}
}

// assertInstalled checks the payload the test install.sh copies.
func assertInstalled(t testing.TB, dir string) {
	t.Helper()
	st, err := os.Stat(filepath.Join(dir, "bin", "tool"))
	if err != nil {
		t.Fatalf("payload not installed: %v", err)
	}
	if st.Mode().Perm()&0o100 == 0 {
		t.Errorf("bin/tool lost its execute bit: %v", st.Mode())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "lib", "libx.so")); err != nil || len(b) != 4000 {
		t.Errorf("lib/libx.so (a link): %d bytes, %v", len(b), err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "bin", "libx")); err != nil || len(b) != 4000 {
		t.Errorf("bin/libx (a link up and down): %d bytes, %v", len(b), err)
	}
}
