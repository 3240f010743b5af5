//go:build unix

package installer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// packageServer serves one package file with ranges, and misbehaves on
// request as a real network or server does.
type packageServer struct {
	data []byte
	etag string // "" sends no validator

	// first makes the first request fail after half the file: "drop"
	// closes the connection, "hang" waits until the client goes away.
	first string
	// ranges: "honour", "ignore" (always 200, whole file), "wrong" (206
	// starting at the wrong byte).
	ranges string

	mu       sync.Mutex
	requests []*http.Request
	served   int64
	halfSent chan struct{} // closed once the first request sent its half
}

func newPackageServer(data []byte) *packageServer {
	return &packageServer{data: data, etag: `"pkg-v1"`, ranges: "honour", halfSent: make(chan struct{})}
}

func (s *packageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Clone(context.Background()))
	n := len(s.requests)
	s.mu.Unlock()
	if s.etag != "" {
		w.Header().Set("ETag", s.etag)
	}
	count := func(k int) {
		s.mu.Lock()
		s.served += int64(k)
		s.mu.Unlock()
	}
	rng := r.Header.Get("Range")
	if rng != "" && s.ranges != "ignore" && (r.Header.Get("If-Range") == "" || r.Header.Get("If-Range") == s.etag) {
		start, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(rng, "bytes="), "-"), 10, 64)
		if err != nil || start >= int64(len(s.data)) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(s.data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		claimed := start
		if s.ranges == "wrong" {
			claimed = start + 1
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", claimed, len(s.data)-1, len(s.data)))
		w.Header().Set("Content-Length", strconv.Itoa(len(s.data)-int(claimed)))
		w.WriteHeader(http.StatusPartialContent)
		k, _ := w.Write(s.data[claimed:])
		count(k)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(s.data)))
	if n == 1 && s.first != "" {
		k, _ := w.Write(s.data[:len(s.data)/2])
		count(k)
		w.(http.Flusher).Flush()
		close(s.halfSent)
		if s.first == "hang" {
			<-r.Context().Done()
		}
		panic(http.ErrAbortHandler) // drop the connection
	}
	k, _ := w.Write(s.data)
	count(k)
}

func (s *packageServer) rangeHeaders() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var h []string
	for _, r := range s.requests {
		h = append(h, r.Header.Get("Range"))
	}
	return h
}

// tlsServer starts s over HTTPS on loopback and returns a Manager that
// trusts its certificate.
func tlsServer(t *testing.T, s http.Handler) (*Manager, string, *httptest.Server) {
	t.Helper()
	srv := httptest.NewTLSServer(s)
	t.Cleanup(srv.Close)
	m, base := testManager(t)
	m.ExtraRootCAs = append(m.ExtraRootCAs, srv.Certificate())
	return m, base, srv
}

func TestInstallFromHTTPS(t *testing.T) {
	scratch := t.TempDir()
	data, _ := os.ReadFile(makeArchive(t, scratch, "software.tar.gz", "tar.gz", vendorEntries("acme/", manifestV1)))
	ps := newPackageServer(data)
	m, base, srv := tlsServer(t, ps)
	url := srv.URL + "/files/software.tar.gz?token=s3cr3t"
	var last Progress
	rec, err := m.Install(context.Background(), url, InstallOptions{Progress: func(p Progress) {
		if p.Phase == PhaseDownload {
			last = p
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Name != "acme-cad" || strings.Contains(rec.Source, "s3cr3t") || !strings.HasSuffix(rec.Source, "/files/software.tar.gz") {
		t.Errorf("record %+v", rec)
	}
	assertInstalled(t, rec.Dir)
	if last.Done != int64(len(data)) || last.Total != int64(len(data)) {
		t.Errorf("last download progress %+v, size %d", last, len(data))
	}
	if left, _ := os.ReadDir(m.cacheDir()); len(left) != 0 {
		t.Errorf("download cache not emptied: %v", left)
	}
	assertClean(t, m, base)

	// Without the test CA the certificate is refused, and not retried.
	m.ExtraRootCAs = nil
	before := len(ps.rangeHeaders())
	if _, err := m.Install(context.Background(), url, InstallOptions{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if n := len(ps.rangeHeaders()) - before; n != 0 {
		t.Errorf("%d requests reached the server with an untrusted certificate", n)
	}
}

func TestURLRules(t *testing.T) {
	m, _ := testManager(t)
	for _, u := range []string{"http://example.com/software.tar.gz", "ftp://example.com/software.zip", "file:///tmp/software.zip", "https:///nohost"} {
		if _, err := m.Install(context.Background(), u, InstallOptions{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", u, err)
		}
	}
	// Plain HTTP to this machine is fine; a redirect from there to plain
	// HTTP elsewhere is not.
	scratch := t.TempDir()
	data, _ := os.ReadFile(makeArchive(t, scratch, "software.zip", "zip", vendorEntries("", manifestV1)))
	mux := http.NewServeMux()
	mux.Handle("/ok/software.zip", newPackageServer(data))
	mux.Handle("/away", http.RedirectHandler("http://example.com/software.zip", http.StatusFound))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if _, err := m.Install(context.Background(), srv.URL+"/ok/software.zip", InstallOptions{}); err != nil {
		t.Errorf("http to loopback: %v", err)
	}
	if _, err := m.Install(context.Background(), srv.URL+"/away", InstallOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("redirect to plain http elsewhere: %v", err)
	}
}

// The connection drops half-way: the download resumes where it stopped
// (Range, If-Range) within the same Install, and the bytes sent in all are
// about the file's size, not one and a half times it.
func TestResumeAfterDrop(t *testing.T) {
	scratch := t.TempDir()
	data := randomPackage(t, scratch)
	ps := newPackageServer(data)
	ps.first = "drop"
	m, base, srv := tlsServer(t, ps)
	rec, err := m.Install(context.Background(), srv.URL+"/software.tar.gz", InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertInstalled(t, rec.Dir)
	h := ps.rangeHeaders()
	if len(h) != 2 || h[0] != "" || h[1] != fmt.Sprintf("bytes=%d-", len(data)/2) {
		t.Errorf("Range headers %q, want none then bytes=%d-", h, len(data)/2)
	}
	if ir := ps.requests[1].Header.Get("If-Range"); ir != ps.etag {
		t.Errorf("If-Range %q", ir)
	}
	if ps.served > int64(len(data))+int64(len(data))/20 {
		t.Errorf("served %d bytes for a %d-byte file", ps.served, len(data))
	}
	assertClean(t, m, base)
}

// An Install cancelled mid-download leaves the partial file; the next
// Install resumes it. With a SHA-256 the prefix is trusted even from a
// server that names no validator.
func TestResumeAcrossRuns(t *testing.T) {
	for _, withSum := range []bool{false, true} {
		t.Run(fmt.Sprintf("sha256=%v", withSum), func(t *testing.T) {
			scratch := t.TempDir()
			data := randomPackage(t, scratch)
			ps := newPackageServer(data)
			ps.first = "hang"
			opts := InstallOptions{}
			if withSum {
				ps.etag = ""
				opts.SHA256 = sha256File(t, filepath.Join(scratch, "software.tar.gz"))
			}
			m, base, srv := tlsServer(t, ps)
			url := srv.URL + "/software.tar.gz"

			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { _, err := m.Install(ctx, url, opts); done <- err }()
			<-ps.halfSent
			waitForPartial(t, m.cacheDir(), int64(len(data)/2))
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled install: %v", err)
			}

			if _, err := m.Install(context.Background(), url, opts); err != nil {
				t.Fatal(err)
			}
			h := ps.rangeHeaders()
			if len(h) != 2 || h[1] != fmt.Sprintf("bytes=%d-", len(data)/2) {
				t.Errorf("Range headers %q", h)
			}
			if ps.served > int64(len(data))+int64(len(data))/20 {
				t.Errorf("served %d bytes for a %d-byte file", ps.served, len(data))
			}
			assertClean(t, m, base)
		})
	}
}

// A server that ignores the range (200, whole file) or answers with the
// wrong range: the partial file is replaced, never stitched.
func TestResumeBadServers(t *testing.T) {
	for _, ranges := range []string{"ignore", "wrong"} {
		t.Run(ranges, func(t *testing.T) {
			scratch := t.TempDir()
			data := randomPackage(t, scratch)
			ps := newPackageServer(data)
			ps.first, ps.ranges = "drop", ranges
			m, base, srv := tlsServer(t, ps)
			sum := sha256File(t, filepath.Join(scratch, "software.tar.gz"))
			if _, err := m.Install(context.Background(), srv.URL+"/software.tar.gz", InstallOptions{SHA256: sum}); err != nil {
				t.Fatal(err)
			}
			if h := ps.rangeHeaders(); len(h) < 2 || h[1] == "" {
				t.Errorf("no resume attempted: %q", h)
			}
			assertClean(t, m, base)
		})
	}
}

// A complete download left by an interrupted install is used as it is: the
// server answers 416 to the range after its end.
func TestResumeComplete(t *testing.T) {
	scratch := t.TempDir()
	data := randomPackage(t, scratch)
	ps := newPackageServer(data)
	m, _, srv := tlsServer(t, ps)
	sum := sha256File(t, filepath.Join(scratch, "software.tar.gz"))
	os.MkdirAll(m.cacheDir(), 0o700)
	os.WriteFile(filepath.Join(m.cacheDir(), sum+".part"), data, 0o600)
	if _, err := m.Install(context.Background(), srv.URL+"/software.tar.gz", InstallOptions{SHA256: sum}); err != nil {
		t.Fatal(err)
	}
	if ps.served != 0 {
		t.Errorf("served %d bytes for a file already here", ps.served)
	}
}

func TestDownloadWrongSHA256(t *testing.T) {
	scratch := t.TempDir()
	data := randomPackage(t, scratch)
	m, base, srv := tlsServer(t, newPackageServer(data))
	_, err := m.Install(context.Background(), srv.URL+"/software.tar.gz", InstallOptions{SHA256: strings.Repeat("0", 64)})
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("got %v", err)
	}
	if left, _ := os.ReadDir(m.cacheDir()); len(left) != 0 {
		t.Errorf("a download that failed its check was kept: %v", left)
	}
	if list, _ := m.List(); len(list) != 0 {
		t.Errorf("recorded %v", list)
	}
	assertClean(t, m, base)
}

func TestDownloadNotFound(t *testing.T) {
	m, _, srv := tlsServer(t, http.NotFoundHandler())
	start := time.Now()
	if _, err := m.Install(context.Background(), srv.URL+"/software.tar.gz", InstallOptions{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("got %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("a 404 was retried")
	}
}

// randomPackage writes a package with 1 MB of incompressible payload to
// dir/software.tar.gz and returns its bytes.
func randomPackage(t testing.TB, dir string) []byte {
	t.Helper()
	blob := make([]byte, 1<<20)
	rand.Read(blob)
	entries := append(vendorEntries("", manifestV1), entry{name: "payload/blob", body: string(blob)})
	b, err := os.ReadFile(makeArchive(t, dir, "software.tar.gz", "tar.gz", entries))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitForPartial waits until a partial download in dir has at least n
// bytes.
func waitForPartial(t testing.TB, dir string, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		parts, _ := filepath.Glob(filepath.Join(dir, "*.part"))
		for _, p := range parts {
			if st, err := os.Stat(p); err == nil && st.Size() >= n {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no partial download of %d bytes in %s", n, dir)
}
