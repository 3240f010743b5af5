package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/sdk"
)

// Size limits of the stripped library. The target is 3 MB (the
// closed LexActivator.dll is 1.95 MB), not met: the Go runtime alone is
// 1.35 MB of a c-shared library, encoding/json with what it drags in (its
// reflection, float parsing, Unicode tables) about 0.4 MB, and the SDK with
// its socket, fingerprint and Ed25519 code comes to 3.26 MB (.so) and
// 3.22 MB (.dll) (sdk/c/README.md). These limits, a little above that, catch
// growth (package net's dialer came back, for instance: +0.4 MB).
const (
	maxLinuxLibrary   = 3_300_000
	maxWindowsLibrary = 3_300_000
)

// TestLibrarySize reports and bounds the size of the stripped libraries.
func TestLibrarySize(t *testing.T) {
	for _, f := range []struct {
		path  string
		limit int64
	}{
		{filepath.Join(library(t), "libiscdesk.so"), maxLinuxLibrary},
		{filepath.Join(builds(t), "windows-amd64", "iscdesk.dll"), maxWindowsLibrary},
	} {
		fi, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes (%.2f MB, %.2f MiB)", filepath.Base(f.path), fi.Size(), float64(fi.Size())/1e6, float64(fi.Size())/(1<<20))
		if fi.Size() > f.limit {
			t.Errorf("%s is %d bytes, more than %d", filepath.Base(f.path), fi.Size(), f.limit)
		}
	}
}

// TestPerformance measures, for the README: the time to load the library
// and make a first call (median of 7 processes), and the round trip of a
// call answered at once (license_verify_notify) from C and from the Go SDK
// against the same real agent, in the same run. The C path may not be both
// over the 100 µs target and more than twice as slow as Go's.
func TestPerformance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole chain")
	}
	c := startChain(t)
	lib := filepath.Join(library(t), "libiscdesk.so")

	loader := filepath.Join(t.TempDir(), "loadtime")
	root := testutil.ModuleRoot(t)
	args := append([]string{"-std=c99", "-D_POSIX_C_SOURCE=200809L"}, strict...)
	args = append(args, filepath.Join(root, "sdk", "c", "test", "loadtime.c"), "-ldl", "-o", loader)
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc loadtime.c: %v\n%s", err, out)
	}
	var loads []time.Duration
	for range 7 {
		out, err := exec.Command(loader, lib).Output()
		if err != nil {
			t.Fatalf("loadtime: %v", err)
		}
		loads = append(loads, time.Duration(field(t, string(out), "load_ns")))
	}
	slices.Sort(loads)

	const calls = 5000
	bench := compile(t, "gcc", "c99", "sdk/c/test/bench.c")
	cmd := exec.Command(bench, "roundtrip", strconv.Itoa(calls))
	cmd.Env = testutil.With(c.env, "ISCDESK_AGENT_SOCKET="+c.socket)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	cMedian, cP99 := time.Duration(field(t, string(out), "median_ns")), time.Duration(field(t, string(out), "p99_ns"))

	goMedian, goP99 := goRoundTrip(t, c.socket, calls)
	t.Logf("load + first call: median %v (min %v, max %v)", loads[len(loads)/2], loads[0], loads[len(loads)-1])
	t.Logf("round trip from C:  median %v, p99 %v", cMedian, cP99)
	t.Logf("round trip from Go: median %v, p99 %v (ratio C/Go %.2f)", goMedian, goP99, float64(cMedian)/float64(goMedian))
	if cMedian > 100*time.Microsecond && cMedian > 2*goMedian {
		t.Errorf("a call from C takes %v (median), over 100 µs and more than twice Go's %v", cMedian, goMedian)
	}
}

// goRoundTrip is the same measurement with the Go SDK.
func goRoundTrip(t *testing.T, socket string, calls int) (median, p99 time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := sdk.Connect(ctx, sdk.WithSocketPath(socket), sdk.WithApp("bench", "1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for range calls/10 + 1 {
		if err := cl.LicenseVerifyNotify(ctx, true, ""); err != nil {
			t.Fatal(err)
		}
	}
	d := make([]time.Duration, 0, calls)
	for range calls {
		start := time.Now()
		if err := cl.LicenseVerifyNotify(ctx, true, ""); err != nil {
			t.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*99/100]
}

// field reads "name value" from a program's output.
func field(t *testing.T, out, name string) int64 {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in:\n%s", name, out)
	return 0
}
