//go:build unix

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// nobody is the uid the ownership tests give files (as root).
const nobody = 65534

// machineFixture writes a machine-wide file in a folder of its own with the
// given modes (set explicitly: the umask does not count), owned by the user
// running the tests.
func machineFixture(t *testing.T, dirMode, fileMode os.FileMode) (dir, file string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "etc", "iscdesk")
	file = filepath.Join(dir, "config.json")
	write(t, file, `{"solver_command":["/opt/solver","{input}","{output}"]}`)
	if err := os.Chmod(file, fileMode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, dirMode); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

func wantRefused(t *testing.T, p Paths, parts ...string) {
	t.Helper()
	c, err := Load(p, nil)
	if err == nil {
		t.Fatalf("loaded %+v, want the machine-wide file refused", c)
	}
	if !errs.Is(err, errs.Permission) {
		t.Errorf("kind %v, want permission (exit code 7): %v", errs.KindOf(err), err)
	}
	for _, part := range append([]string{p.Machine, "chown root", "chmod go-w"}, parts...) {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("the error lacks %q: %v", part, err)
		}
	}
}

func wantLoaded(t *testing.T, p Paths) {
	t.Helper()
	c, err := Load(p, nil)
	if err != nil || !c.Locked["solver_command"] {
		t.Fatalf("Load: %+v, %v", c, err)
	}
}

// Anyone in the group (or anyone at all) who may write the file or its
// folder could set solver_command for every user: refused, whoever owns
// them. Runs as root and as any other user.
func TestMachineFileWritableByOthersRefused(t *testing.T) {
	for _, tc := range []struct {
		name              string
		dirMode, fileMode os.FileMode
		want              string
	}{
		{"folder group-writable", 0o775, 0o644, "its folder"},
		{"folder writable by everyone", 0o757, 0o644, "by everyone"},
		{"folder sticky and writable by everyone", 0o1777, 0o644, "by everyone"},
		{"file group-writable", 0o755, 0o664, "the file: writable by its group"},
		{"file writable by everyone", 0o755, 0o646, "the file: writable by everyone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, file := machineFixture(t, tc.dirMode, tc.fileMode)
			wantRefused(t, Paths{Machine: file, TrustCurrentUser: true}, tc.want)
		})
	}
	t.Run("safe", func(t *testing.T) {
		_, file := machineFixture(t, 0o755, 0o644)
		wantLoaded(t, Paths{Machine: file, TrustCurrentUser: true})
	})
}

// Without TrustCurrentUser (what DefaultPaths gives) the file and folder
// must be root's. As root, a file or folder given to another user is
// refused even when the test's own user is trusted; as another user, the
// test's own files are refused.
func TestMachineFileOwnedByAnotherUserRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		_, file := machineFixture(t, 0o755, 0o644)
		wantRefused(t, Paths{Machine: file}, "owned by")
		wantLoaded(t, Paths{Machine: file, TrustCurrentUser: true})
		t.Skip("not root: the files cannot be given to another user (the rest runs as root)")
	}
	_, file := machineFixture(t, 0o755, 0o644)
	wantLoaded(t, Paths{Machine: file})
	if err := os.Chown(file, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, Paths{Machine: file, TrustCurrentUser: true}, "the file: owned by", "65534")

	dir, file := machineFixture(t, 0o755, 0o644)
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, Paths{Machine: file, TrustCurrentUser: true}, "its folder "+dir+": owned by")
}

// A link to a file elsewhere is judged by that file and its folder.
func TestMachineFileLinkFollowed(t *testing.T) {
	_, real := machineFixture(t, 0o777, 0o644)
	dir := filepath.Join(t.TempDir(), "etc", "iscdesk")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config.json")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, Paths{Machine: link, TrustCurrentUser: true}, real, "by everyone")

	// The folder itself a link, to a folder anyone may write.
	top := filepath.Join(t.TempDir(), "etc")
	if err := os.MkdirAll(top, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(real), filepath.Join(top, "iscdesk")); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, Paths{Machine: filepath.Join(top, "iscdesk", "config.json"), TrustCurrentUser: true}, real)
}

// No file: nothing to refuse, whatever the folder.
func TestMachineFileMissingAccepted(t *testing.T) {
	dir, file := machineFixture(t, 0o777, 0o644)
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(Paths{Machine: file, User: filepath.Join(dir, "user.json")}, nil); err != nil || len(c.Locked) != 0 {
		t.Fatalf("Load: %+v, %v", c, err)
	}
}
