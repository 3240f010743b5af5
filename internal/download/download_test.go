package download

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/download/downloadtest"
	"github.com/iscdesk/iscdesk/internal/errs"
)

// testFile is 1 MB of incompressible bytes and their SHA-256.
func testFile(t testing.TB) ([]byte, string) {
	t.Helper()
	data := make([]byte, 1<<20)
	rand.Read(data)
	s := sha256.Sum256(data)
	return data, hex.EncodeToString(s[:])
}

// tlsClient starts h over HTTPS on loopback and returns a Client that
// trusts its certificate, with its cache in a fresh folder.
func tlsClient(t *testing.T, h http.Handler) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return newClient(t, Config{RootCAs: []*x509.Certificate{srv.Certificate()}}), srv
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(t.TempDir(), "cache")
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// assertFile checks that path holds data.
func assertFile(t *testing.T, path string, data []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("downloaded file: %d bytes (want %d), %v", len(got), len(data), err)
	}
}

func TestFetchHTTPS(t *testing.T) {
	data, _ := testFile(t)
	ps := downloadtest.NewServer(data)
	c, srv := tlsClient(t, ps)
	url := srv.URL + "/files/software.tar.gz?token=s3cr3t"
	var last Progress
	path, err := c.Fetch(context.Background(), url, Options{Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, data)
	if last.Done != int64(len(data)) || last.Total != int64(len(data)) || last.Verifying {
		t.Errorf("last progress %+v, size %d", last, len(data))
	}
	// Nothing on disk names the URL's token.
	entries, _ := os.ReadDir(c.cacheDir)
	for _, e := range entries {
		if b, _ := os.ReadFile(filepath.Join(c.cacheDir, e.Name())); bytes.Contains(b, []byte("s3cr3t")) || strings.Contains(e.Name(), "s3cr3t") {
			t.Errorf("%s keeps the URL's token", e.Name())
		}
	}
	Remove(path)
	if left, _ := os.ReadDir(c.cacheDir); len(left) != 0 {
		t.Errorf("Remove left %v", left)
	}

	// Without the test CA the certificate is refused, and not retried.
	untrusting := newClient(t, Config{})
	before := len(ps.RangeHeaders())
	_, err = untrusting.Fetch(context.Background(), url, Options{})
	if !errs.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if n := len(ps.RangeHeaders()) - before; n != 0 {
		t.Errorf("%d requests reached the server with an untrusted certificate", n)
	}
}

func TestURLRules(t *testing.T) {
	c := newClient(t, Config{})
	for _, u := range []string{"http://example.com/software.tar.gz", "ftp://example.com/software.zip",
		"file:///tmp/software.zip", "https:///nohost", "https://exa mple.com/x?token=s3cr3t", "software.zip"} {
		_, err := c.Fetch(context.Background(), u, Options{})
		if !errs.Is(err, errs.Invalid) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: %v", u, err)
		}
	}
	// Plain HTTP to this machine is fine; a redirect from there to plain
	// HTTP elsewhere is not, nor an endless one.
	data, _ := testFile(t)
	mux := http.NewServeMux()
	mux.Handle("/ok/software.zip", downloadtest.NewServer(data))
	mux.Handle("/away", http.RedirectHandler("http://example.com/software.zip?token=s3cr3t", http.StatusFound))
	mux.Handle("/loop", http.RedirectHandler("/loop", http.StatusFound))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if _, err := c.Fetch(context.Background(), srv.URL+"/ok/software.zip", Options{}); err != nil {
		t.Errorf("http to loopback: %v", err)
	}
	_, err := c.Fetch(context.Background(), srv.URL+"/away", Options{})
	if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "http://example.com/software.zip") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("redirect to plain http elsewhere: %v", err)
	}
	if _, err := c.Fetch(context.Background(), srv.URL+"/loop", Options{}); !errs.Is(err, errs.Protocol) {
		t.Errorf("redirect loop: %v", err)
	}

	// The same rules hold with the caller's own HTTP client.
	own := newClient(t, Config{HTTPClient: &http.Client{Timeout: time.Minute}})
	if _, err := own.Fetch(context.Background(), srv.URL+"/away", Options{}); !errs.Is(err, errs.Invalid) {
		t.Errorf("own client, redirect to plain http elsewhere: %v", err)
	}
	path, err := own.Fetch(context.Background(), srv.URL+"/ok/software.zip", Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, data)
}

// With SameOriginRedirects a redirect may move within the URL's scheme,
// host and port only: to another host (another port, or the same address by
// another name) it is refused before anything is asked of it.
func TestSameOriginRedirects(t *testing.T) {
	data, _ := testFile(t)
	other := downloadtest.NewServer(data)
	elsewhere := httptest.NewServer(other)
	defer elsewhere.Close()
	mux := http.NewServeMux()
	mux.Handle("/pkg/software.zip", downloadtest.NewServer(data))
	mux.Handle("/moved", http.RedirectHandler("/pkg/software.zip", http.StatusFound))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	mux.Handle("/other-port", http.RedirectHandler(elsewhere.URL+"/software.zip", http.StatusFound))
	mux.Handle("/other-name", http.RedirectHandler("http://localhost:"+port+"/pkg/software.zip", http.StatusFound))

	strict := newClient(t, Config{SameOriginRedirects: true})
	path, err := strict.Fetch(context.Background(), srv.URL+"/moved", Options{})
	if err != nil {
		t.Fatalf("redirect on the same host: %v", err)
	}
	assertFile(t, path, data)
	for _, p := range []string{"/other-port", "/other-name"} {
		_, err := strict.Fetch(context.Background(), srv.URL+p, Options{})
		if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "redirect away from") {
			t.Errorf("%s: %v", p, err)
		}
	}
	if n := len(other.RangeHeaders()); n != 0 {
		t.Errorf("%d requests reached the other host", n)
	}
	// Without the option, and with the caller's client, the usual rules.
	if _, err := newClient(t, Config{}).Fetch(context.Background(), srv.URL+"/other-port", Options{}); err != nil {
		t.Errorf("redirect to another loopback host without the option: %v", err)
	}
	own := newClient(t, Config{SameOriginRedirects: true, HTTPClient: &http.Client{Timeout: time.Minute}})
	if _, err := own.Fetch(context.Background(), srv.URL+"/other-port", Options{}); !errs.Is(err, errs.Invalid) {
		t.Errorf("own client, redirect to another host: %v", err)
	}
}

// The connection drops half-way: the download resumes where it stopped
// (Range, If-Range) within the same Fetch, and the bytes sent in all are
// about the file's size, not one and a half times it.
func TestResumeAfterDrop(t *testing.T) {
	data, _ := testFile(t)
	ps := downloadtest.NewServer(data)
	ps.First = "drop"
	c, srv := tlsClient(t, ps)
	path, err := c.Fetch(context.Background(), srv.URL+"/software.tar.gz", Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, data)
	h := ps.RangeHeaders()
	if len(h) != 2 || h[0] != "" || h[1] != fmt.Sprintf("bytes=%d-", len(data)/2) {
		t.Errorf("Range headers %q, want none then bytes=%d-", h, len(data)/2)
	}
	if ir := ps.Requests()[1].Header.Get("If-Range"); ir != ps.ETag {
		t.Errorf("If-Range %q", ir)
	}
	if served := ps.Served(); served > int64(len(data))+int64(len(data))/20 {
		t.Errorf("served %d bytes for a %d-byte file", served, len(data))
	}
}

// A connection that hangs is given up after the stall timeout and resumed.
func TestResumeAfterStall(t *testing.T) {
	data, _ := testFile(t)
	ps := downloadtest.NewServer(data)
	ps.First = "hang"
	srv := httptest.NewServer(ps)
	defer srv.Close()
	c := newClient(t, Config{StallTimeout: 300 * time.Millisecond})
	start := time.Now()
	path, err := c.Fetch(context.Background(), srv.URL+"/software.tar.gz", Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, data)
	if h := ps.RangeHeaders(); len(h) != 2 || h[1] != fmt.Sprintf("bytes=%d-", len(data)/2) {
		t.Errorf("Range headers %q", h)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v", took)
	}
}

// A Fetch cancelled mid-download leaves the partial file; the next Fetch
// resumes it. With a SHA-256 the prefix is trusted even from a server that
// names no validator.
func TestResumeAcrossRuns(t *testing.T) {
	for _, withSum := range []bool{false, true} {
		t.Run(fmt.Sprintf("sha256=%v", withSum), func(t *testing.T) {
			data, sum := testFile(t)
			ps := downloadtest.NewServer(data)
			ps.First = "hang"
			opts := Options{}
			if withSum {
				ps.ETag = ""
				opts.SHA256 = sum
			}
			c, srv := tlsClient(t, ps)
			url := srv.URL + "/software.tar.gz"

			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { _, err := c.Fetch(ctx, url, opts); done <- err }()
			<-ps.HalfSent()
			downloadtest.WaitForPartial(t, c.cacheDir, int64(len(data)/2))
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) || !errs.Is(err, errs.Canceled) {
				t.Fatalf("cancelled fetch: %v", err)
			}

			path, err := c.Fetch(context.Background(), url, opts)
			if err != nil {
				t.Fatal(err)
			}
			assertFile(t, path, data)
			h := ps.RangeHeaders()
			if len(h) != 2 || h[1] != fmt.Sprintf("bytes=%d-", len(data)/2) {
				t.Errorf("Range headers %q", h)
			}
			if served := ps.Served(); served > int64(len(data))+int64(len(data))/20 {
				t.Errorf("served %d bytes for a %d-byte file", served, len(data))
			}
		})
	}
}

// A server that ignores the range (200, whole file) or answers with the
// wrong range: the partial file is replaced, never stitched.
func TestResumeBadServers(t *testing.T) {
	for _, ranges := range []string{"ignore", "wrong"} {
		t.Run(ranges, func(t *testing.T) {
			data, sum := testFile(t)
			ps := downloadtest.NewServer(data)
			ps.First, ps.Ranges = "drop", ranges
			c, srv := tlsClient(t, ps)
			path, err := c.Fetch(context.Background(), srv.URL+"/software.tar.gz", Options{SHA256: sum})
			if err != nil {
				t.Fatal(err)
			}
			assertFile(t, path, data)
			if h := ps.RangeHeaders(); len(h) < 2 || h[1] == "" {
				t.Errorf("no resume attempted: %q", h)
			}
		})
	}
}

// A complete download left by an interrupted caller is used as it is: the
// server answers 416 to the range after its end.
func TestResumeComplete(t *testing.T) {
	data, sum := testFile(t)
	ps := downloadtest.NewServer(data)
	c, srv := tlsClient(t, ps)
	os.MkdirAll(c.cacheDir, 0o700)
	os.WriteFile(filepath.Join(c.cacheDir, sum+".part"), data, 0o600)
	var verified bool
	path, err := c.Fetch(context.Background(), srv.URL+"/software.tar.gz", Options{SHA256: sum, Progress: func(p Progress) {
		verified = verified || p.Verifying && p.Done == int64(len(data))
	}})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, data)
	if ps.Served() != 0 {
		t.Errorf("served %d bytes for a file already here", ps.Served())
	}
	if !verified {
		t.Errorf("no progress reported for the SHA-256 check")
	}
}

func TestWrongSHA256(t *testing.T) {
	data, _ := testFile(t)
	c, srv := tlsClient(t, downloadtest.NewServer(data))
	_, err := c.Fetch(context.Background(), srv.URL+"/software.tar.gz?token=s3cr3t", Options{SHA256: strings.Repeat("0", 64)})
	if !errors.Is(err, ErrChecksum) || !errs.Is(err, errs.Integrity) || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("got %v", err)
	}
	if left, _ := os.ReadDir(c.cacheDir); len(left) != 0 {
		t.Errorf("a download that failed its check was kept: %v", left)
	}
	if _, err := c.Fetch(context.Background(), srv.URL+"/software.tar.gz", Options{SHA256: "abc"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("malformed SHA-256: %v", err)
	}
}

// The size cap refuses a file by its Content-Length, and one without a
// length once the bytes pass the cap.
func TestTooLarge(t *testing.T) {
	data, _ := testFile(t)
	c, srv := tlsClient(t, downloadtest.NewServer(data))
	_, err := c.Fetch(context.Background(), srv.URL+"/software.tar.gz", Options{MaxBytes: 1000})
	if !errors.Is(err, ErrTooLarge) || !errs.Is(err, errs.Integrity) {
		t.Errorf("Content-Length over the cap: %v", err)
	}
	chunked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(data); i += 4096 {
			w.Write(data[i : i+4096])
			w.(http.Flusher).Flush()
		}
	})
	c2, srv2 := tlsClient(t, chunked)
	_, err = c2.Fetch(context.Background(), srv2.URL+"/software.tar.gz", Options{MaxBytes: 100_000})
	if !errors.Is(err, ErrTooLarge) || !errs.Is(err, errs.Integrity) {
		t.Errorf("body over the cap: %v", err)
	}
	if left, _ := os.ReadDir(c2.cacheDir); len(left) != 0 {
		t.Errorf("a download over the cap was kept: %v", left)
	}
}

// HTTP errors: the kind says why, the code names the status, and only
// transient ones are retried.
func TestHTTPErrors(t *testing.T) {
	for _, c := range []struct {
		status   int
		kind     errs.Kind
		requests int32
	}{
		{http.StatusNotFound, errs.NotExist, 1},
		{http.StatusForbidden, errs.Permission, 1},
		{http.StatusBadRequest, errs.Unavailable, 1},
		{http.StatusServiceUnavailable, errs.Unavailable, 2},
	} {
		var n atomic.Int32
		client, srv := tlsClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.WriteHeader(c.status)
		}))
		client.attempts = 2
		_, err := client.Fetch(context.Background(), srv.URL+"/software.tar.gz", Options{})
		if !errs.Is(err, c.kind) || errs.CodeOf(err) != fmt.Sprintf("HTTP %d", c.status) || !strings.Contains(err.Error(), fmt.Sprint(c.status)) {
			t.Errorf("%d: %v (kind %v, code %q)", c.status, err, errs.KindOf(err), errs.CodeOf(err))
		}
		if n.Load() != c.requests {
			t.Errorf("%d: %d requests, want %d", c.status, n.Load(), c.requests)
		}
	}
}

// A server that cannot be reached: Unavailable, retried, the URL's token
// not shown.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := newClient(t, Config{Attempts: 2})
	_, err = c.Fetch(context.Background(), "http://"+addr+"/software.tar.gz?token=s3cr3t", Options{})
	if !errs.Is(err, errs.Unavailable) || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), addr) {
		t.Errorf("got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Fetch(ctx, "http://"+addr+"/software.tar.gz", Options{}); !errs.Is(err, errs.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestVerifySHA256(t *testing.T) {
	data, sum := testFile(t)
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, data, 0o600)
	if err := VerifySHA256(context.Background(), path, sum, nil); err != nil {
		t.Error(err)
	}
	if err := VerifySHA256(context.Background(), path, strings.Repeat("1", 64), nil); !errors.Is(err, ErrChecksum) || !errs.Is(err, errs.Integrity) {
		t.Errorf("mismatch: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("a local file that failed its check was touched: %v", err)
	}
	if err := VerifySHA256(context.Background(), path, "xyz", nil); !errs.Is(err, errs.Invalid) {
		t.Errorf("malformed: %v", err)
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	old, fresh := filepath.Join(dir, "old.part"), filepath.Join(dir, "fresh.part")
	os.WriteFile(old, nil, 0o600)
	os.WriteFile(fresh, nil, 0o600)
	os.Chtimes(old, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour))
	Prune(dir, 24*time.Hour)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("old file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh file removed: %v", err)
	}
}
