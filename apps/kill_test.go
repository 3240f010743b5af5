//go:build unix

package apps

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/download/downloadtest"
)

// The child process of TestKillMidInstall runs one Install with these.
const (
	childEnv       = "ISCDESK_TEST_KILL_CHILD" // set: this process is the child
	childRootEnv   = "ISCDESK_TEST_ROOT"
	childAppsEnv   = "ISCDESK_TEST_APPS"
	childSourceEnv = "ISCDESK_TEST_SOURCE"
	childSleepEnv  = "ISCDESK_TEST_SLEEP" // read by the test install.sh
)

// An install killed with SIGKILL at several points (mid-download,
// mid-unpack, while the install script runs) is completed by running it
// again: the download resumes, the stale staging folder goes, the record
// appears once, correct.
func TestKillMidInstall(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		installAsChild()
		return
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, point := range []string{"download", "unpack", "script"} {
		t.Run(point, func(t *testing.T) {
			m, base := testManager(t)
			pidFile := filepath.Join(base, "script.pid")
			entries := vendorEntries("acme/", manifestV1)
			if point == "unpack" {
				// Enough files for the unpacking to take a moment.
				for i := range 3000 {
					entries = append(entries, entry{name: fmt.Sprintf("acme/payload/data/f%04d.txt", i), body: strings.Repeat("data ", 200)})
				}
			}
			pkg := makeArchive(t, base, "software.tar.gz", "tar.gz", entries)
			source := pkg
			var ps *downloadtest.Server
			if point == "download" {
				data, _ := os.ReadFile(pkg)
				ps = downloadtest.NewServer(data)
				ps.First = "hang"
				srv := httptest.NewServer(ps) // plain HTTP on loopback
				defer srv.Close()
				source = srv.URL + "/software.tar.gz"
			}

			out, err := os.Create(filepath.Join(base, "child.out"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			child := exec.Command(os.Args[0], "-test.run=^TestKillMidInstall$", "-test.count=1")
			child.Env = append(os.Environ(), childEnv+"=1", childRootEnv+"="+m.Root, childAppsEnv+"="+m.AppsDir,
				childSourceEnv+"="+source, childSleepEnv+"="+pidFile)
			child.Stdout, child.Stderr = out, out
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- child.Wait() }()

			waitFor(t, exited, out.Name(), func() bool {
				switch point {
				case "download":
					return downloadtest.PartialAtLeast(m.cacheDir(), int64(len(ps.Data)/2))
				case "unpack":
					stages, _ := filepath.Glob(filepath.Join(m.AppsDir, stagePrefix+"*", "acme", "payload", "data", "f*"))
					return len(stages) > 0
				default:
					_, err := os.Stat(pidFile)
					return err == nil
				}
			})
			_, scriptRunning := os.Stat(pidFile)
			child.Process.Kill()
			err = <-exited
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the child was not killed but ended with %v:\n%s", err, readFile(out.Name()))
			}
			// Whatever the child started dies with it, as after a power
			// cut. (On Linux the kernel kills the script already; its
			// children are reparented, not killed.)
			if b, err := os.ReadFile(pidFile); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					_ = syscall.Kill(-pid, syscall.SIGKILL)
				}
			}
			t.Logf("killed at %s (install script running: %v)", point, scriptRunning == nil)

			if list, _ := m.List(); len(list) != 0 {
				t.Fatalf("recorded before the script finished: %v", list)
			}
			if point != "download" && len(m.readJournal()) == 0 {
				t.Errorf("the killed attempt's staging folder is not journaled")
			}

			rec, err := m.Install(context.Background(), source, InstallOptions{})
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			assertInstalled(t, rec.Dir)
			if rec.Name != "acme-cad" || rec.Version != "2.1.0" || rec.Dir != filepath.Join(m.AppsDir, "acme-cad") {
				t.Errorf("record %+v", rec)
			}
			if list, _ := m.List(); len(list) != 1 || list[0] != rec {
				t.Errorf("list %+v", list)
			}
			if kept, _ := os.ReadDir(filepath.Join(m.Root, "packages")); len(kept) != 1 {
				t.Errorf("kept package folders %v", kept)
			}
			if point == "download" {
				if h := ps.RangeHeaders(); len(h) != 2 || h[1] != fmt.Sprintf("bytes=%d-", len(ps.Data)/2) {
					t.Errorf("the re-run did not resume: Range headers %q", h)
				}
			}
			assertClean(t, m, base)
		})
	}
}

// installAsChild is TestKillMidInstall's child: one Install, which the
// parent kills before it ends.
func installAsChild() {
	m := &Manager{Root: os.Getenv(childRootEnv), AppsDir: os.Getenv(childAppsEnv)}
	_, err := m.Install(context.Background(), os.Getenv(childSourceEnv), InstallOptions{})
	fmt.Fprintf(os.Stderr, "child: Install returned %v\n", err)
	os.Exit(3)
}

// waitFor polls cond until it holds, failing if the child exits first or
// it takes too long.
func waitFor(t *testing.T, exited chan error, out string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		select {
		case err := <-exited:
			t.Fatalf("the child ended early (%v):\n%s", err, readFile(out))
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out; child output:\n%s", readFile(out))
		}
	}
}

func readFile(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}
