package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
)

// The start-up of the headless binary, measured as whole processes (fork,
// exec, the runtime and package initialisation, the command, exit) of the
// release build. Each reports the median wall time as median-ms.

// releaseBinary is iscdesk as `make build` makes it.
func releaseBinary(b *testing.B) string {
	return testutil.Binary(b, "./cmd/iscdesk", testutil.Build{Env: []string{"CGO_ENABLED=0"}, Flags: []string{"-trimpath", "-ldflags=-s -w"}})
}

// BenchmarkFingerprintProcess runs `iscdesk fingerprint` (target: median
// under 5 ms) and, side by side, the floor: a program that links only the
// fingerprint probes (testdata/fingerprintonly), built the same way.
func BenchmarkFingerprintProcess(b *testing.B) {
	b.Run("iscdesk", func(b *testing.B) {
		bin := releaseBinary(b)
		medianProcess(b, func() *exec.Cmd { return exec.Command(bin, "fingerprint") })
	})
	b.Run("probes-only", func(b *testing.B) {
		bin := testutil.Binary(b, "./cmd/iscdesk/testdata/fingerprintonly", testutil.Build{Env: []string{"CGO_ENABLED=0"}, Flags: []string{"-trimpath", "-ldflags=-s -w"}})
		medianProcess(b, func() *exec.Cmd { return exec.Command(bin) })
	})
}

// BenchmarkStatusOfflineProcess runs `iscdesk status --offline` against an
// activated authorization in the encrypted file (target: median under
// 10 ms) and, inside `make bench`'s private session, in gnome-keyring.
func BenchmarkStatusOfflineProcess(b *testing.B) {
	bin := releaseBinary(b)
	b.Run("file", func(b *testing.B) {
		env, _ := testutil.ProcessEnv(b)
		// No session bus: the encrypted file even inside make bench.
		env = slices.DeleteFunc(env, func(v string) bool { return strings.HasPrefix(v, "DBUS_SESSION_BUS_ADDRESS=") })
		benchStatusOffline(b, bin, env, "file")
	})
	b.Run("keyring", func(b *testing.B) {
		if !testutil.RealKeyring() {
			b.Skip("no gnome-keyring session (make bench has one)")
		}
		env, _ := testutil.ProcessEnv(b)
		benchStatusOffline(b, bin, env, "keyring")
	})
}

func benchStatusOffline(b *testing.B, bin string, env []string, storage string) {
	srv := vendortest.Start(b, vendortest.Options{})
	r := runBin(b, bin, testutil.With(env, srv.Env()...), "activate", "--json", srv.Code(b, 1))
	if r.Code != 0 || r.json.Storage != storage {
		b.Fatalf("activate: exit %d, storage %q: %s", r.Code, r.json.Storage, r.Stderr)
	}
	srv.Stop()
	env = testutil.With(env, "ISCDESK_SERVER_KEY="+srv.Key)
	medianProcess(b, func() *exec.Cmd {
		cmd := exec.Command(bin, "status", "--offline")
		cmd.Env = env
		return cmd
	})
}

// medianProcess runs a process per iteration and reports the median wall
// time.
func medianProcess(b *testing.B, command func() *exec.Cmd) {
	var times []time.Duration
	for b.Loop() {
		cmd := command()
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
}
