package filelock_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/filelock"
)

func TestLockSerialisesOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.lock")
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				unlock, err := filelock.Lock(context.Background(), path)
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				if n > most.Load() {
					most.Store(n)
				}
				inside.Add(-1)
				unlock()
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d holders at once", most.Load())
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("folder: %v %v", st.Mode(), err)
	}
}

func TestLockWaitEndsWithContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := filelock.Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := filelock.Lock(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("while held: %v", err)
	}
	unlock()
	unlock2, err := filelock.Lock(context.Background(), path)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	unlock2()
}

const childEnv = "FILELOCK_TEST_CHILD"

// TestLockAcrossProcesses: a child process holds the lock, this one waits in
// vain; once the child is killed, the OS releases its lock.
func TestLockAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	child := exec.Command(os.Args[0], "-test.run", "^TestLockChild$")
	child.Env = append(os.Environ(), childEnv+"="+path)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := filelock.Lock(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("while the child holds it: %v", err)
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock, err := filelock.Lock(ctx, path)
	if err != nil {
		t.Fatalf("after the child died: %v", err)
	}
	unlock()
}

// TestLockChild is the child of TestLockAcrossProcesses: it takes the lock,
// says so, and holds it until killed.
func TestLockChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("the child of TestLockAcrossProcesses")
	}
	if _, err := filelock.Lock(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}
