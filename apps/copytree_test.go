package apps

import (
	"os"
	"path/filepath"
	"testing"
)

// copyTree keeps contents, modes and links (it copies a kept package folder
// to another filesystem, where a rename cannot go).
func TestCopyTree(t *testing.T) {
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "bin"), 0o755))
	must(os.WriteFile(filepath.Join(src, "bin", "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	must(os.WriteFile(filepath.Join(src, "README"), []byte("read me"), 0o644))
	must(os.Symlink("bin/run.sh", filepath.Join(src, "run")))
	dst := filepath.Join(t.TempDir(), "copy")
	must(copyTree(src, dst))
	if b, err := os.ReadFile(filepath.Join(dst, "bin", "run.sh")); err != nil || string(b) != "#!/bin/sh\necho hi\n" {
		t.Fatalf("run.sh = %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(dst, "bin", "run.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("run.sh mode %v, %v", fi.Mode(), err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "run")); err != nil || l != "bin/run.sh" {
		t.Fatalf("link %q, %v", l, err)
	}
	if err := copyTree(src, dst); err == nil {
		t.Fatal("copied over an existing folder")
	}
}
