package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the master side the test types into, the
// slave side the command reads as its terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// `activate` without a code on a terminal prompts on standard error and
// reads the typed line: the code never travels on argv.
func TestActivatePromptsOnTerminal(t *testing.T) {
	bin := buildBinary(t)
	srv := vendortest.Start(t, vendortest.Options{})
	env, _ := testutil.ProcessEnv(t)
	master, slave := openPTY(t)
	go func() { _, _ = io.Copy(io.Discard, master) }() // the terminal's echo

	code := srv.Code(t, 1)
	cmd := exec.Command(bin, "activate", "--json")
	var stdout, stderr bytes.Buffer
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = testutil.With(env, srv.Env()...), slave, &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := master.Write([]byte(code + "\n")); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var j licenseJSON
	if err != nil || json.Unmarshal(stdout.Bytes(), &j) != nil || !j.Valid || j.License != code {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if !strings.HasPrefix(stderr.String(), "License code: ") {
		t.Errorf("no prompt on standard error: %q", stderr.String())
	}
}
