package licensing_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/filelock"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/token"
)

// The window's "Remove authorization" racing the agent's daily check: the
// check loads the record, asks the server (slow), then saves what it
// learnt. A removal in between must stay a removal, whichever process or
// goroutine each side runs in.

const raceRounds = 100

func TestRemoveRacesDailyCheckOneService(t *testing.T) {
	s, v, _ := newService(t)
	for i := range raceRounds {
		raceRemoveWithDailyCheck(t, s, s, v, i%2 == 0)
	}
}

// Two services over one folder and one lock file stand for two processes
// (the CLI and a running window): nothing but the lock file serialises them.
func TestRemoveRacesDailyCheckTwoServices(t *testing.T) {
	dir := t.TempDir()
	v := newVendor(t)
	window, agent := v.fileService(dir, v.clock.Now), v.fileService(dir, v.clock.Now)
	for i := range raceRounds {
		raceRemoveWithDailyCheck(t, window, agent, v, i%2 == 0)
	}
}

// raceRemoveWithDailyCheck activates, lets a day pass, then runs the agent's
// check of a program's start (whose daily online check runs in the
// background) against the window's removal. With forced set the removal
// happens while the daily check waits for the server; otherwise the two run
// freely.
func raceRemoveWithDailyCheck(t *testing.T, window, agent *licensing.Service, v *vendor, forced bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := window.Activate(ctx, v.code); err != nil {
		t.Fatal(err)
	}
	v.clock.Add(25 * time.Hour) // a new day: the next start checks online
	querying, removed := make(chan struct{}), make(chan struct{})
	var onCheck func()
	if forced {
		onCheck = func() { close(querying); <-removed }
	}
	v.hook.set(false, onCheck)

	var wg sync.WaitGroup
	wg.Go(func() {
		done := make(chan error, 1)
		_, err := agent.Check(ctx, done)
		if err != nil && !errs.Is(err, errs.NotActivated) {
			t.Errorf("start: %v", err)
		}
		if err := <-done; err != nil && !errs.Is(err, errs.NotActivated) {
			t.Errorf("daily check: %v", err)
		}
	})
	wg.Go(func() {
		if forced {
			<-querying
		} else {
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
		}
		if err := window.Forget(ctx); err != nil {
			t.Errorf("remove: %v", err)
		}
		close(removed)
	})
	wg.Wait()
	for _, s := range []*licensing.Service{window, agent} {
		if st, err := s.Status(ctx, false); !errs.Is(err, errs.NotActivated) {
			t.Fatalf("forced %v: the removed authorization came back: %+v, %v", forced, st.Record, err)
		}
	}
}

// The same race with the daily check in a second process (this test binary
// run again): the removal lands while the child waits for the server.
func TestRemoveRacesDailyCheckInAnotherProcess(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	dir := t.TempDir()
	v := newVendor(t)
	c := v.clock
	window := v.fileService(dir, c.Now)
	ctx := context.Background()
	for i := range rounds {
		if _, err := window.Activate(ctx, v.code); err != nil {
			t.Fatal(err)
		}
		c.Add(25 * time.Hour)
		forced := i%2 == 0
		child := exec.Command(os.Args[0], "-test.run", "^TestRaceChildProcess$")
		// GORACE: a -race child would otherwise sleep a second at exit.
		child.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", "LICENSING_RACE_DIR="+dir, "LICENSING_RACE_NOW="+c.Now().Format(time.RFC3339Nano),
			"LICENSING_RACE_SERVER="+v.URL, "LICENSING_RACE_KEY="+v.Key,
			fmt.Sprintf("LICENSING_RACE_FORCED=%v", forced))
		stdin, err := child.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, err := child.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		child.Stderr = os.Stderr
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewReader(out)
		if forced {
			if line, err := lines.ReadString('\n'); err != nil || line != "querying\n" {
				t.Fatalf("child: %q %v", line, err)
			}
		}
		if err := window.Forget(ctx); err != nil {
			t.Fatal(err)
		}
		stdin.Close()
		rest, _ := lines.ReadString(0)
		if err := child.Wait(); err != nil {
			t.Fatalf("child: %v\n%s", err, rest)
		}
		if st, err := window.Status(ctx, false); !errs.Is(err, errs.NotActivated) {
			t.Fatalf("round %d (forced %v): the removed authorization came back: %+v, %v\nchild: %s", i, forced, st.Record, err, rest)
		}
	}
}

// TestRaceChildProcess is the agent's side of
// TestRemoveRacesDailyCheckInAnotherProcess.
func TestRaceChildProcess(t *testing.T) {
	dir := os.Getenv("LICENSING_RACE_DIR")
	if dir == "" {
		t.Skip("the child of TestRemoveRacesDailyCheckInAnotherProcess")
	}
	now, err := time.Parse(time.RFC3339Nano, os.Getenv("LICENSING_RACE_NOW"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := token.ParsePublicKey(os.Getenv("LICENSING_RACE_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	// The parent's server, reached over loopback.
	v := &vendor{Server: &vendortest.Server{URL: os.Getenv("LICENSING_RACE_SERVER"), Public: pub}}
	if os.Getenv("LICENSING_RACE_FORCED") == "true" {
		v.hook.set(false, func() {
			fmt.Println("querying")
			_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		})
	}
	agent := v.fileService(dir, func() time.Time { return now })
	done := make(chan error, 1)
	if _, err := agent.Check(context.Background(), done); err != nil && !errs.Is(err, errs.NotActivated) {
		t.Fatal(err)
	}
	if err := <-done; err != nil && !errs.Is(err, errs.NotActivated) {
		t.Fatal(err)
	}
}

// A lock held elsewhere past LockWait fails the flow with kind Busy; a
// caller giving up meanwhile gets kind Canceled.
func TestLockHeldElsewhere(t *testing.T) {
	dir := t.TempDir()
	s := newVendor(t).fileService(dir, (&clock{t: t0}).Now)
	s.LockWait = 50 * time.Millisecond
	ctx := context.Background()
	unlock, err := filelock.Lock(ctx, filepath.Join(dir, "authorization.lock"))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Forget(ctx)
	if !errs.Is(err, errs.Busy) {
		t.Fatalf("forget while the lock is held elsewhere: %v, want kind Busy", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(10*time.Millisecond, cancel)
	if _, err := s.Status(cctx, false); !errs.Is(err, errs.Canceled) {
		t.Fatalf("status given up while waiting: %v, want kind Canceled", err)
	}
	unlock()
	if err := s.Forget(ctx); err != nil {
		t.Fatalf("forget once the lock is free: %v", err)
	}
}

// A lock file nobody may write or create (root's, left by `sudo -E`; a
// read-only home) does not lock the user out: the flows go on with the
// in-process lock.
func TestLockFileUnwritable(t *testing.T) {
	dir := t.TempDir()
	v := newVendor(t)
	s := v.fileService(dir, v.clock.Now)
	ctx := context.Background()
	if _, err := s.Activate(ctx, v.code); err != nil {
		t.Fatal(err)
	}
	lockDir := filepath.Join(t.TempDir(), "locked")
	if err := os.Mkdir(lockDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chattr", "+i", lockDir).CombinedOutput(); err != nil {
		t.Skipf("chattr +i does not work here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", lockDir).Run() })
	s.LockFile = filepath.Join(lockDir, "authorization.lock")
	st, err := s.Status(ctx, true)
	if err != nil || !st.Verdict.Valid() {
		t.Fatalf("status with an unwritable lock file: %+v, %v", st, err)
	}
}

// A caller queued behind another in the same process can give up too.
func TestLockInProcessCanceled(t *testing.T) {
	dir := t.TempDir()
	v := newVendor(t)
	s := v.fileService(dir, v.clock.Now)
	s.LockFile = "" // the in-process lock alone
	ctx := context.Background()
	if _, err := s.Activate(ctx, v.code); err != nil {
		t.Fatal(err)
	}
	// A status whose record load blocks holds the lock meanwhile.
	slow := &blockingStore{RecordStore: s.Store, entered: make(chan struct{}), release: make(chan struct{})}
	s.Store = slow
	done := make(chan struct{})
	go func() { defer close(done); s.Status(ctx, false) }()
	<-slow.entered
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	err := s.Forget(cctx)
	close(slow.release)
	<-done
	if !errs.Is(err, errs.Canceled) || time.Since(start) > 5*time.Second {
		t.Fatalf("forget queued behind a status, then canceled: %v after %v, want kind Canceled at once", err, time.Since(start))
	}
}

// blockingStore blocks its first Load until release is closed.
type blockingStore struct {
	licensing.RecordStore
	once             sync.Once
	entered, release chan struct{}
}

func (b *blockingStore) Load(ctx context.Context) (licensing.Record, error) {
	b.once.Do(func() { close(b.entered); <-b.release })
	return b.RecordStore.Load(ctx)
}
