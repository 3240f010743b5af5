//go:build !windows

package usersock_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/protocol/usersock"
)

// The cases another user is needed for (their folder, their listener, their
// client) are in the tests of sdk, agent and cmd/iscdesk-desktop, which run
// a process as nobody.
func TestCheckDir(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	private := mk("private", 0o700)
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir    string
		unsafe bool
	}{
		{private, false},
		{mk("readonly", 0o500), false},
		{mk("group", 0o750), true},
		{mk("others", 0o701), true},
		{mk("open", 0o777), true},
		{link, true},
		{file, true},
	} {
		err := usersock.CheckDir(tc.dir)
		if got := errors.Is(err, usersock.ErrUnsafeFolder); got != tc.unsafe || !tc.unsafe && err != nil {
			t.Errorf("CheckDir(%s) = %v, want unsafe %v", filepath.Base(tc.dir), err, tc.unsafe)
		}
	}
	if err := usersock.CheckDir(filepath.Join(base, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing folder: %v", err)
	}
}

// PrepareDir creates a private folder, and leaves an existing one as it is.
func TestPrepareDir(t *testing.T) {
	base := t.TempDir()
	fresh := filepath.Join(base, "a", "b")
	if err := usersock.PrepareDir(fresh); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{fresh, filepath.Dir(fresh)} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v", d, st.Mode(), err)
		}
	}
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := usersock.PrepareDir(open); !errors.Is(err, usersock.ErrUnsafeFolder) {
		t.Errorf("open folder: %v", err)
	}
	if st, _ := os.Stat(open); st.Mode().Perm() != 0o755 {
		t.Errorf("PrepareDir changed an existing folder to %v", st.Mode())
	}
}

// Both ends of a connection within this process are this user's.
func TestDialAndListener(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := usersock.PrepareDir(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s.sock")
	raw, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln := &usersock.Listener{Listener: raw, Refused: func(err error) { t.Errorf("refused: %v", err) }}
	defer ln.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := usersock.Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	if err := usersock.CheckPeer(nil); !errors.Is(err, usersock.ErrOtherUser) {
		t.Errorf("CheckPeer of no Unix socket: %v", err)
	}
}

// Dial fails as a net.Dialer would: a context already ended connects
// nothing, and a missing socket is the system's error.
func TestDialErrors(t *testing.T) {
	path := filepath.Join(privateDir(t), "s.sock")
	ctx := context.Background()
	if _, err := usersock.Dial(ctx, path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Dial of no socket: %v", err)
	}
	listen(t, path)
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if c, err := usersock.Dial(ended, path); !errors.Is(err, context.Canceled) {
		if c != nil {
			c.Close()
		}
		t.Errorf("Dial with an ended context: %v", err)
	}
}

// Dial's connection behaves as net.DialUnix's, error for error and word for
// word: Dial makes its own on Unix systems, without package net's sockets.
func TestDialLikeNet(t *testing.T) {
	dir := privateDir(t)
	path := filepath.Join(dir, "s.sock")
	ln := listen(t, path)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi\n"))
			c.Close()
		}
	}()
	run := func(c net.Conn) []string {
		var got []string
		say := func(what string, err error) {
			var ne net.Error
			timeout := errors.As(err, &ne) && ne.Timeout()
			got = append(got, fmt.Sprintf("%s: %v (closed %v, deadline %v, timeout %v, EPIPE %v)", what, err,
				errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded), timeout, errors.Is(err, syscall.EPIPE)))
		}
		got = append(got, fmt.Sprintf("addresses %v %v, %s %s", c.LocalAddr(), c.RemoteAddr(), c.LocalAddr().Network(), c.RemoteAddr().Network()))
		b, err := io.ReadAll(io.LimitReader(c, 3))
		say("read "+string(b), err)
		_, err = c.Read(make([]byte, 8))
		say("read at the end", err)
		say("deadline", c.SetReadDeadline(time.Now().Add(-time.Second)))
		_, err = c.Read(make([]byte, 8))
		say("read past the deadline", err)
		say("deadline", c.SetDeadline(time.Time{}))
		for i := range 2 {
			_, err = c.Write([]byte("x"))
			say(fmt.Sprint("write to a closed peer ", i), err)
		}
		say("close", c.Close())
		_, err = c.Read(make([]byte, 8))
		say("read after close", err)
		_, err = c.Write([]byte("x"))
		say("write after close", err)
		say("deadline after close", c.SetWriteDeadline(time.Now()))
		say("close again", c.Close())
		return got
	}
	ctx := context.Background()
	c, err := usersock.Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	got := run(c)
	nc, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	want := run(nc)
	for i := range max(len(got), len(want)) {
		if i >= len(got) || i >= len(want) || got[i] != want[i] {
			t.Errorf("Dial:\n%s\nnet.DialUnix:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			break
		}
	}
	// The errors of failed dials are net's too.
	if _, err := usersock.Dial(ctx, filepath.Join(dir, "none.sock")); err == nil || err.Error() != "dial unix "+filepath.Join(dir, "none.sock")+": connect: no such file or directory" {
		t.Errorf("Dial of no socket: %v", err)
	}
}

// privateDir is a socket folder of this user's, closed to others.
func privateDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	if err := usersock.PrepareDir(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// listen listens on path until the test ends.
func listen(t *testing.T, path string) net.Listener {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
