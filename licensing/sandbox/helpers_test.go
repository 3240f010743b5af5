package sandbox_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
)

// t0 is the sandbox clock at the start of every test.
var t0 = time.Date(2026, 3, 17, 14, 42, 37, 0, time.UTC)

// fakeClock is a settable clock, safe for the handler's goroutines.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a sandbox served over real HTTP on loopback.
type env struct {
	t     testing.TB
	srv   *sandbox.Server
	clock *fakeClock
	path  string // state file
	url   string
}

// newEnv starts a sandbox with a state file in a fresh temp dir. cfg may set
// the logger; the clock and state path are the env's.
func newEnv(t testing.TB, cfg sandbox.Config) *env {
	t.Helper()
	return newEnvAt(t, cfg, filepath.Join(t.TempDir(), "sandbox.json"))
}

// newMemoryEnv is newEnv with the state in memory only.
func newMemoryEnv(t testing.TB) *env {
	t.Helper()
	return newEnvAt(t, sandbox.Config{}, "")
}

// eachStore runs a benchmark with the state in a file (every change an
// atomic write, fsync included) and in memory.
func eachStore(b *testing.B, run func(b *testing.B, e *env)) {
	b.Run("file", func(b *testing.B) { run(b, newEnv(b, sandbox.Config{})) })
	b.Run("memory", func(b *testing.B) { run(b, newMemoryEnv(b)) })
}

func newEnvAt(t testing.TB, cfg sandbox.Config, path string) *env {
	t.Helper()
	e := &env{t: t, clock: &fakeClock{now: t0}, path: path}
	cfg.StatePath, cfg.Now = e.path, e.clock.Now
	srv, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

// code returns the n-th code (from 0) whose state is state.
func (e *env) code(state string, n int) string {
	e.t.Helper()
	for _, c := range e.srv.Codes() {
		if c.State == state {
			if n == 0 {
				return c.Code
			}
			n--
		}
	}
	e.t.Fatalf("no code in state %q", state)
	return ""
}

// call describes one request; the zero value of each field is the normal
// case: POST, application/json, signed with the sandbox's keys at its clock.
type call struct {
	method      string
	path        string
	contentType string
	body        string
	unsigned    bool
	cred        *aksk.Credentials
	skew        time.Duration         // signing time minus the sandbox clock
	tamper      func(r *http.Request) // after signing
}

type reply struct {
	status int
	env    wire.Envelope[json.RawMessage]
	raw    []byte
}

func (e *env) send(c call) reply {
	e.t.Helper()
	r, err := http.NewRequest(cmp.Or(c.method, http.MethodPost), e.url+c.path, bytes.NewReader([]byte(c.body)))
	if err != nil {
		e.t.Fatal(err)
	}
	r.Header.Set("Content-Type", cmp.Or(c.contentType, "application/json"))
	if !c.unsigned {
		cred := e.srv.Credentials()
		if c.cred != nil {
			cred = *c.cred
		}
		if err := aksk.Sign(r, []byte(c.body), cred, e.clock.Now().Add(c.skew)); err != nil {
			e.t.Fatal(err)
		}
	}
	if c.tamper != nil {
		c.tamper(r)
	}
	return e.do(r)
}

// do sends r and reads the answer, which must be JSON, or a signed document
// (application/jose: the update manifest) left in raw.
func (e *env) do(r *http.Request) reply {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	rep := reply{status: resp.StatusCode, raw: raw}
	ct := resp.Header.Get("Content-Type")
	if ct == "application/jose" && resp.StatusCode == http.StatusOK {
		return rep
	}
	if ct != "application/json;charset=UTF-8" {
		e.t.Errorf("Content-Type = %q", ct)
	}
	if err := json.Unmarshal(raw, &rep.env); err != nil {
		e.t.Fatalf("answer is not JSON: %v: %s", err, raw)
	}
	return rep
}

// post sends a normal signed request.
func (e *env) post(path, body string) reply {
	e.t.Helper()
	return e.send(call{path: path, body: body})
}

func licenseBody(code string) string {
	b, _ := json.Marshal(map[string]string{"license": code})
	return string(b)
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
