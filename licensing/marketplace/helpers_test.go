package marketplace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/aksk"
)

// Canary credentials: neither string may appear in any error text or log
// line produced by any test (checked per call and once more in TestMain).
const (
	testAK = "AKcanary7Q2WX9ZL"
	testSK = "SKcanary-9f8e7d6c5b4a3210"
)

var testCred = aksk.Credentials{AK: testAK, SK: testSK}

// allOutput collects every log line and error text of every test client.
var allOutput testutil.LockedBuffer

func TestMain(m *testing.M) {
	code := m.Run()
	if s := allOutput.String(); strings.Contains(s, testAK) || strings.Contains(s, testSK) {
		fmt.Fprintln(os.Stderr, "FAIL: an access key or secret key appeared in an error or a log line")
		code = 1
	}
	os.Exit(code)
}

// fakeServer is a loopback marketplace whose answers each test scripts. It
// verifies every request's signature and shape before the script runs.
type fakeServer struct {
	tb     testing.TB
	srv    *httptest.Server
	script func(w http.ResponseWriter, r *http.Request, n int) // n: 1-based count on r's path

	mu       sync.Mutex
	hits     map[string]int
	requests []seenRequest
}

type seenRequest struct {
	path   string
	body   []byte
	header http.Header
}

func newFakeServer(tb testing.TB, script func(w http.ResponseWriter, r *http.Request, n int)) *fakeServer {
	f := &fakeServer{tb: tb, script: script, hits: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.hits[r.URL.Path]++
	n := f.hits[r.URL.Path]
	f.requests = append(f.requests, seenRequest{path: r.URL.Path, body: body, header: r.Header.Clone()})
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		f.tb.Errorf("request %s with Content-Type %q, want POST application/json", r.Method, r.Header.Get("Content-Type"))
	}
	lookupSK := func(ak string) (string, bool) { return testSK, ak == testAK }
	if _, err := aksk.Verify(r, body, lookupSK, time.Now()); err != nil {
		f.tb.Errorf("signature check failed: %v", err)
		writeJSON(w, http.StatusUnauthorized, `{"error_code":"APIGW.0301","error_msg":"bad signature"}`)
		return
	}
	f.script(w, r, n)
}

func (f *fakeServer) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func (f *fakeServer) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeServer) seen() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.requests...)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// reply answers every request the same way.
func reply(status int, body string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, status, body) }
}

// byPath answers each path with its own script; other paths get 404.
func byPath(scripts map[string]func(http.ResponseWriter, *http.Request, int)) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		if s, ok := scripts[r.URL.Path]; ok {
			s(w, r, n)
			return
		}
		writeJSON(w, http.StatusNotFound, `{"error_code":"APIGW.0101","error_msg":"API not found"}`)
	}
}

// Answers of a healthy marketplace.
const (
	testCode       = "PL0123456789abcdefABCDEF_-xyz"
	activateOK     = `{"error_code":"92020000","error_msg":"success","data":{"license_code_info":"{\"status\":\"ALIVE\",\"expire_time\":\"20270726121646\",\"product_id\":\"12345\",\"amount\":2,\"order_id\":\"CS123\"}"}}`
	usageOK        = `{"error_code":"92020000","error_msg":"success","data":{}}`
	queryOKPattern = `{"error_code":"92020000","error_msg":"success","data":{"license_code":%q,"status":%q,"activate_time":"20250726121646","expire_time":"20270726121646","product_id":"12345","order_id":"CS123"}}`
)

func queryOK(status string) string { return fmt.Sprintf(queryOKPattern, testCode, status) }

func codeAnswer(code, msg string) string {
	b, err := json.Marshal(map[string]string{"error_code": code, "error_msg": msg})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// testClient wraps a Client so that every call's error is checked for
// secrets and recorded.
type testClient struct {
	*Client
	tb testing.TB
}

// newTestClient makes a fast-retrying client for endpoint; adjust tweaks
// the config before New.
func newTestClient(tb testing.TB, endpoint string, adjust ...func(*Config)) testClient {
	tb.Helper()
	logs := &testutil.LockedBuffer{}
	cfg := Config{
		Endpoint:    endpoint,
		Credentials: testCred,
		Timeout:     5 * time.Second,
		MaxAttempts: 3,
		BaseBackoff: time.Millisecond,
		MaxBackoff:  5 * time.Millisecond,
		UserAgent:   "iscdesk/test",
		Logger:      slog.New(slog.NewTextHandler(io.MultiWriter(logs, &allOutput), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range adjust {
		f(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { assertNoSecrets(tb, "log output", logs.String()) })
	return testClient{Client: c, tb: tb}
}

func (c testClient) activate(ctx context.Context, code string) (licensing.License, error) {
	lic, err := c.Activate(ctx, code)
	c.checkErr(err)
	return lic, err
}

func (c testClient) query(ctx context.Context, code string) (licensing.License, error) {
	lic, err := c.Query(ctx, code)
	c.checkErr(err)
	return lic, err
}

func (c testClient) usage(ctx context.Context, code, device string) error {
	err := c.ReportUsage(ctx, code, device)
	c.checkErr(err)
	return err
}

func (c testClient) checkErr(err error) {
	c.tb.Helper()
	if err == nil {
		return
	}
	text := fmt.Sprintf("%v\n%+v\n%#v\n", err, err, err)
	allOutput.Write([]byte(text))
	assertNoSecrets(c.tb, "error", text)
}

func assertNoSecrets(tb testing.TB, what, s string) {
	tb.Helper()
	if strings.Contains(s, testAK) || strings.Contains(s, testSK) {
		tb.Errorf("%s contains the access key or the secret key: %s", what, s)
	}
}

// wantKind fails unless err is a *errs.Error of kind k.
func wantKind(tb testing.TB, err error, k errs.Kind) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("no error, want kind %v", k)
	}
	if got := errs.KindOf(err); got != k {
		tb.Fatalf("kind %v (%v), want %v", got, err, k)
	}
}

// closedURL is an http URL on loopback where nothing listens.
func closedURL(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func asError(err error, target **errs.Error) bool { return errors.As(err, target) }
