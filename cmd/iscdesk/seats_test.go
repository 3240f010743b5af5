package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"github.com/iscdesk/iscdesk/licensing/secret"
)

// machineOf is a desktop of its own for in-process runs of the CLI: its
// config folder, its keyring, its machine id, and the fingerprint read from
// one of the fingerprint package's sysroot trees (the CPU id fixed, as the
// trees cannot hold one).
type machineOf struct {
	t           *testing.T
	env         map[string]string
	paths       config.Paths
	secrets     *secret.Memory
	host        string
	fingerprint func(context.Context) devinfo.Fingerprint
}

func newMachine(t *testing.T, tree, host string, env map[string]string) *machineOf {
	dir := t.TempDir()
	collector := fingerprint.Collector{Root: filepath.Join("..", "..", "fingerprint", "testdata", tree),
		CPUID: func() (string, error) { return "BFEBFBFF000906EA", nil }}
	return &machineOf{t: t, env: env, host: host, secrets: &secret.Memory{},
		paths:       config.Paths{Machine: filepath.Join(dir, "etc", "config.json"), User: filepath.Join(dir, "user", "config.json")},
		fingerprint: func(ctx context.Context) devinfo.Fingerprint { return collector.Collect(ctx) }}
}

// run runs one command of the CLI, as a new process of this machine would.
func (m *machineOf) run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	io := &stdio{in: strings.NewReader(""), out: &out, err: &errb, getenv: func(k string) string { return m.env[k] },
		paths: &m.paths, secrets: m.secrets, machineID: func() (string, error) { return "machine-" + m.host, nil },
		fingerprint: m.fingerprint, host: func() string { return m.host }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = run(ctx, args, io)
	return code, out.String(), errb.String()
}

func (m *machineOf) want(code int, args ...string) string {
	m.t.Helper()
	got, stdout, stderr := m.run(args...)
	if got != code {
		m.t.Fatalf("%s: iscdesk %s: exit %d, want %d\nstdout: %s\nstderr: %s", m.host, strings.Join(args, " "), got, code, stdout, stderr)
	}
	return stdout + stderr
}

// Seats (issue 12, acceptance) through the command line: a code bought for
// 2 seats binds 2 machines; the third `iscdesk activate` exits 3 naming
// both holders, and succeeds once one of them ran `iscdesk deactivate`.
// Activating again never takes a second seat, and a machine with one part
// replaced keeps its seat.
func TestSeatsFromTheCommandLine(t *testing.T) {
	ctx := context.Background()
	srv := vendortest.Start(t, vendortest.Options{})
	code := srv.Code(t, 2)
	env := map[string]string{"ISCDESK_SERVER": srv.URL, "ISCDESK_SERVER_KEY": srv.Key}
	ws := newMachine(t, "workstation", "cad-ws-01", env)
	vm := newMachine(t, "vm", "cad-vm-02", env)
	third := newMachine(t, "server", "cad-srv-03", env)
	bound := func(want int) {
		t.Helper()
		if info, err := srv.Service.CodeInfo(ctx, code); err != nil || info.Bound() != want {
			t.Fatalf("seats bound: %d, want %d (%v)", info.Bound(), want, err)
		}
	}

	ws.want(exitcode.OK, "activate", code)
	vm.want(exitcode.OK, "activate", code)
	out := third.want(exitcode.NotUsable, "activate", code)
	t.Logf("the third machine: %s", out)
	for _, want := range []string{"2 seats", "cad-ws-01", "cad-vm-02", "iscdesk deactivate"} {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal does not name %q: %s", want, out)
		}
	}
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "iscdesk: ") {
		t.Errorf("not one 'iscdesk:' line: %q", out)
	}

	// Again, and again after forgetting it here: the same machine, one seat.
	ws.want(exitcode.OK, "activate", code)
	ws.want(exitcode.OK, "forget")
	ws.want(exitcode.OK, "activate", code)
	bound(2)

	// A disk replaced on the workstation: still its seat.
	collect := ws.fingerprint
	ws.fingerprint = func(ctx context.Context) devinfo.Fingerprint {
		fp := collect(ctx)
		c := fp.Components
		c.Disk = append([]string{"NEW-DISK-0001"}, c.Disk[1:]...)
		return devinfo.Render(c)
	}
	ws.want(exitcode.OK, "status")
	ws.want(exitcode.OK, "activate", code)
	bound(2)
	third.want(exitcode.NotUsable, "activate", code)

	// The VM frees its seat: the third machine takes it.
	vm.want(exitcode.OK, "deactivate")
	vm.want(exitcode.NotUsable, "status", "--offline")
	third.want(exitcode.OK, "activate", code)
	bound(2)
	vm.want(exitcode.NotUsable, "activate", code)
}
