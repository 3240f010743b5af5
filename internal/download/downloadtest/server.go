// Package downloadtest is a test double for package download's callers: an
// HTTP handler serving one file with byte ranges that misbehaves on request
// as real networks and servers do. It imports only the standard library and
// is imported by tests only.
package downloadtest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server serves Data at any path, honouring "Range: bytes=N-" and If-Range.
// Set its fields before the first request.
type Server struct {
	Data []byte
	// ETag is sent with every answer; "" sends no validator.
	ETag string
	// First makes the first request fail after half the file: "drop"
	// closes the connection, "hang" waits until the client goes away.
	First string
	// Ranges is "honour", "ignore" (always 200 with the whole file) or
	// "wrong" (206 starting one byte after the asked one).
	Ranges string

	mu       sync.Mutex
	requests []*http.Request
	served   int64
	halfSent chan struct{}
}

// NewServer returns a well-behaved Server of data with an ETag.
func NewServer(data []byte) *Server {
	return &Server{Data: data, ETag: `"pkg-v1"`, Ranges: "honour", halfSent: make(chan struct{})}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Clone(context.Background()))
	n := len(s.requests)
	s.mu.Unlock()
	if s.ETag != "" {
		w.Header().Set("ETag", s.ETag)
	}
	count := func(k int) {
		s.mu.Lock()
		s.served += int64(k)
		s.mu.Unlock()
	}
	rng := r.Header.Get("Range")
	if rng != "" && s.Ranges != "ignore" && (r.Header.Get("If-Range") == "" || r.Header.Get("If-Range") == s.ETag) {
		start, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(rng, "bytes="), "-"), 10, 64)
		if err != nil || start >= int64(len(s.Data)) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(s.Data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		claimed := start
		if s.Ranges == "wrong" {
			claimed = start + 1
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", claimed, len(s.Data)-1, len(s.Data)))
		w.Header().Set("Content-Length", strconv.Itoa(len(s.Data)-int(claimed)))
		w.WriteHeader(http.StatusPartialContent)
		k, _ := w.Write(s.Data[claimed:])
		count(k)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(s.Data)))
	if n == 1 && s.First != "" {
		k, _ := w.Write(s.Data[:len(s.Data)/2])
		count(k)
		w.(http.Flusher).Flush()
		close(s.halfSent)
		if s.First == "hang" {
			<-r.Context().Done()
		}
		panic(http.ErrAbortHandler) // drop the connection
	}
	k, _ := w.Write(s.Data)
	count(k)
}

// HalfSent is closed once the first request (with First set) sent half the
// file.
func (s *Server) HalfSent() <-chan struct{} { return s.halfSent }

// Requests returns the requests received so far.
func (s *Server) Requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...)
}

// RangeHeaders returns the Range header of each request so far ("" for
// none).
func (s *Server) RangeHeaders() []string {
	var h []string
	for _, r := range s.Requests() {
		h = append(h, r.Header.Get("Range"))
	}
	return h
}

// Served is the number of body bytes sent so far.
func (s *Server) Served() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// WaitForPartial waits until a partial download (*.part) in dir has at
// least n bytes.
func WaitForPartial(t testing.TB, dir string, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if PartialAtLeast(dir, n) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no partial download of %d bytes in %s", n, dir)
}

// PartialAtLeast reports whether a partial download (*.part) in dir has at
// least n bytes.
func PartialAtLeast(dir string, n int64) bool {
	parts, _ := filepath.Glob(filepath.Join(dir, "*.part"))
	for _, p := range parts {
		if st, err := os.Stat(p); err == nil && st.Size() >= n {
			return true
		}
	}
	return false
}
