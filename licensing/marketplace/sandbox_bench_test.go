package marketplace_test

// The client against the real sandbox on loopback, as a benchmark. It lives
// with the client's tests: the sandbox's own tests never use the client.

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
)

// serveLoopback runs a sandbox (state in memory) on 127.0.0.1 and returns it
// with its URL.
func serveLoopback(b *testing.B) (*sandbox.Server, string) {
	srv, err := sandbox.New(sandbox.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, "127.0.0.1:0", func(u string) { urls <- u }) }()
	b.Cleanup(func() { cancel(); <-done })
	select {
	case u := <-urls:
		return srv, u
	case err := <-done:
		b.Fatal(err)
	}
	return nil, ""
}

// freshCodes adds n codes ready to activate.
func freshCodes(b *testing.B, srv *sandbox.Server, n int) []string {
	codes := make([]string, n)
	for i := range codes {
		c, err := srv.AddCode(sandbox.CodeSpec{})
		if err != nil {
			b.Fatal(err)
		}
		codes[i] = c
	}
	return codes
}

func median(d []time.Duration) float64 {
	slices.Sort(d)
	return float64(d[len(d)/2].Microseconds()) / 1000
}

// BenchmarkSandboxActivate is one activation of a fresh code by the
// marketplace client against the sandbox on loopback (signing, HTTP,
// signature check, state change, parsing), in-process. It reports the median
// in milliseconds. A fresh sandbox serves every batch of codes, because the
// sandbox copies its whole state on each change and would otherwise measure
// its own growth.
func BenchmarkSandboxActivate(b *testing.B) {
	const batch = 200
	ctx := context.Background()
	times := make([]time.Duration, 0, b.N)
	var c *marketplace.Client
	var codes []string
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			srv, url := serveLoopback(b)
			var err error
			if c, err = marketplace.New(marketplace.Config{Endpoint: url, Credentials: srv.Credentials()}); err != nil {
				b.Fatal(err)
			}
			codes = freshCodes(b, srv, batch)
			b.StartTimer()
		}
		start := time.Now()
		if _, err := c.Activate(ctx, codes[i%batch]); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.ReportMetric(median(times), "median-ms")
}

// BenchmarkSandboxActivateCurl makes the same signed request with curl, a
// whole process per call: the reference for the README's ratio.
func BenchmarkSandboxActivateCurl(b *testing.B) {
	if _, err := exec.LookPath("curl"); err != nil {
		b.Skip("curl not installed")
	}
	srv, url := serveLoopback(b)
	codes := freshCodes(b, srv, b.N)
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		body := []byte(`{"license":"` + codes[i] + `"}`)
		req, _ := http.NewRequest("POST", url+wire.PathActivate, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if err := aksk.Sign(req, body, srv.Credentials(), time.Now()); err != nil {
			b.Fatal(err)
		}
		args := []string{"-sS", "-f", "-X", "POST", "--data-binary", "@-"}
		for _, h := range []string{"Content-Type", aksk.DateHeader, "Authorization"} {
			args = append(args, "-H", h+": "+req.Header.Get(h))
		}
		cmd := exec.Command("curl", append(args, url+wire.PathActivate)...)
		cmd.Stdin = bytes.NewReader(body)
		b.StartTimer()
		start := time.Now()
		out, err := cmd.Output()
		times = append(times, time.Since(start))
		if err != nil || !bytes.Contains(out, []byte(wire.CodeSuccess)) {
			b.Fatalf("curl: %v %s", err, out)
		}
	}
	b.ReportMetric(median(times), "median-ms")
}
