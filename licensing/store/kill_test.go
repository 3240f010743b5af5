package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/secret"
)

const testService = "iscdesk-test-store"

// requireRealKeyring skips unless ISCDESK_REAL_KEYRING=1, which `make test`
// sets inside a private D-Bus session with gnome-keyring unlocked; with it
// set, a missing keyring fails the test.
func requireRealKeyring(t *testing.T) {
	if os.Getenv("ISCDESK_REAL_KEYRING") != "1" {
		t.Skip("ISCDESK_REAL_KEYRING=1 not set (make test sets it inside a private D-Bus session)")
	}
}

func realKeyring() secret.Keyring {
	return secret.Keyring{Service: testService, Timeout: 10 * time.Second}
}

func TestRealKeyringStore(t *testing.T) {
	requireRealKeyring(t)
	_ = NewKeyringStore(realKeyring(), machine("machine-A")).Delete(context.Background())
	testStoreContract(t, func(id string) licensing.RecordStore { return NewKeyringStore(realKeyring(), machine(id)) })
}

// genRecord is the record of save number n: even saves are small, odd ones
// span several keyring entries, so a torn write would show.
func genRecord(n int) licensing.Record {
	if n%2 == 0 {
		return record(fmt.Sprintf("PLGEN%d", n), 2)
	}
	return record(fmt.Sprintf("PLGEN%d", n), 280)
}

func consistent(r licensing.Record) error {
	var n int
	if _, err := fmt.Sscanf(r.License, "PLGEN%d", &n); err != nil {
		return fmt.Errorf("license %q", r.License)
	}
	if want := genRecord(n); !equalRecords(r, want) {
		return fmt.Errorf("record %d is a mix: %d MACs", n, len(r.Components.MAC))
	}
	return nil
}

// TestKillWriterHelper is the child process of TestKillMidWrite: it saves
// records in a loop until it is killed.
func TestKillWriterHelper(t *testing.T) {
	backend := os.Getenv("ISCDESK_KILL_WRITER")
	if backend == "" {
		t.Skip("child process of TestKillMidWrite")
	}
	s := killStore(backend, os.Getenv("ISCDESK_KILL_DIR"))
	for n := 0; ; n++ {
		if err := s.Save(context.Background(), genRecord(n)); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("saved", n)
	}
}

func killStore(backend, dir string) licensing.RecordStore {
	if backend == "keyring" {
		return NewKeyringStore(realKeyring(), machine("machine-K"))
	}
	return NewFileStore(dir, machine("machine-K"))
}

// TestKillMidWrite kills a writer process (SIGKILL) at random points of its
// saves; after every kill the next reader sees a whole record.
func TestKillMidWrite(t *testing.T) {
	backends := []string{"file"}
	if os.Getenv("ISCDESK_REAL_KEYRING") == "1" {
		backends = append(backends, "keyring")
	}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			s := killStore(backend, dir)
			_ = s.Delete(context.Background())
			for round := range 6 {
				cmd := exec.Command(os.Args[0], "-test.run", "^TestKillWriterHelper$")
				cmd.Env = append(os.Environ(), "ISCDESK_KILL_WRITER="+backend, "ISCDESK_KILL_DIR="+dir)
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				lines := bufio.NewScanner(out)
				saves := 0
				for saves < 2 && lines.Scan() {
					if strings.HasPrefix(lines.Text(), "saved") {
						saves++
					} else if strings.HasPrefix(lines.Text(), "error") {
						t.Fatal(lines.Text())
					}
				}
				time.Sleep(time.Duration(rand.IntN(20000)) * time.Microsecond)
				_ = cmd.Process.Signal(syscall.SIGKILL)
				_ = cmd.Wait()
				r, err := s.Load(context.Background())
				if err != nil {
					t.Fatalf("round %d: load after kill: %v", round, err)
				}
				if err := consistent(r); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			_ = s.Delete(context.Background())
		})
	}
}
