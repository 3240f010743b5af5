package agent_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/agent/solver"
	"github.com/iscdesk/iscdesk/agent/updates"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/licensing/remote"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/licensing/secret"
	"github.com/iscdesk/iscdesk/licensing/store"
	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/token/activation"
)

const devInfo = "02:00:00:00:00:01|DISK-1||BFEBFBFF000906EA"

// world is a vendor license server (asking the sandbox) with an activated
// code, and the hooks of an agent.
type world struct {
	srv     *vendortest.Server
	sandbox *sandbox.Server
	url     string // the sandbox's, which serves the update manifest too
	service *licensing.Service
	code    string
	dir     string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{dir: t.TempDir()}
	// Every device license asks the marketplace, so a release shows at once.
	w.srv = vendortest.Start(t, vendortest.Options{Config: server.Config{QueryInterval: time.Nanosecond}})
	w.sandbox, w.url = w.srv.Sandbox, w.srv.SandboxURL
	fp := devinfo.Render(devinfo.Components{MAC: []string{"02:00:00:00:00:01"}, Disk: []string{"DISK-1"}, CPU: "BFEBFBFF000906EA"})
	w.service = &licensing.Service{
		Store: store.NewKeyringStore(&secret.Memory{}, func() (string, error) { return "machine", nil }),
		Settings: func() (licensing.Settings, error) {
			return licensing.Settings{Server: w.srv.URL, Keys: activation.Pinned(w.srv.Public)}, nil
		},
		Connect:     func(_ context.Context, url string) (licensing.Server, error) { return remote.New(url, nil, nil), nil },
		Fingerprint: func(context.Context) devinfo.Fingerprint { return fp },
	}
	w.code = w.srv.Code(t, 1)
	if _, err := w.service.Activate(context.Background(), w.code); err != nil {
		t.Fatal(err)
	}
	return w
}

// startAgent serves an agent with the default hooks on a socket in dir; it
// returns the socket path and a stop function.
func (w *world) startAgent(t *testing.T, socket string, solverTimeout time.Duration) func() {
	t.Helper()
	storage, err := clouddrive.NewLocalFolder(filepath.Join(w.dir, "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(w.dir, "solve.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncase \"$1\" in *slow*) sleep 30;; *fail*) echo bad mesh >&2; exit 3;; esac\necho solved \"$1\" > \"$2/result.txt\"\necho done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pinned := w.sandbox.VendorPublicKey() // as an administrator pins server_key
	srv := agent.New(agent.Config{
		SocketPath: socket,
		Storage:    storage,
		Solver:     solver.NewCommand([]string{script, "{input}", "{output}"}, solverTimeout, filepath.Join(w.dir, "solutions")),
		Licenses:   agent.ManagedLicenses{Service: w.service},
		Updates:    &updates.ManifestChecker{URL: w.url + wire.PathUpdateManifest, Downloads: filepath.Join(w.dir, "updates"), ServerKey: pinned},
		Pick: func(ctx context.Context) (clouddrive.File, error) {
			files, err := storage.List(ctx)
			if err != nil || len(files) == 0 {
				return clouddrive.File{}, errors.New("the cloud drive is empty")
			}
			return files[0], nil
		},
		SaveAs:     agent.KeepSuggestion,
		LicenseDir: filepath.Join(w.dir, "licenses"),
	})
	return serve(t, srv)
}

// serve serves srv until the test ends or the returned function is called.
func serve(t *testing.T, srv *agent.Server) func() {
	t.Helper()
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func socketIn(t *testing.T) string {
	// Unix socket paths are limited to ~100 bytes: keep it short.
	dir, err := os.MkdirTemp("", "isc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s", "agent.sock")
}

func connect(t *testing.T, socket string) *sdk.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sdk.Connect(ctx, sdk.WithSocketPath(socket), sdk.WithApp("testcad", "1.0.0"), sdk.WithReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// connected starts an agent for a new world and connects a client to it.
func connected(t *testing.T, solverTimeout time.Duration) (*world, *sdk.Client) {
	t.Helper()
	w := newWorld(t)
	socket := socketIn(t)
	w.startAgent(t, socket, solverTimeout)
	return w, connect(t, socket)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestEveryCall(t *testing.T) {
	w, c := connected(t, 10*time.Second)
	ctx := ctxT(t)
	var events []protocol.Event
	var mu sync.Mutex
	c.RegisterEventRecall(func(e protocol.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })

	// A device license bound to devInfo, verifiable offline with the vendor key.
	token, err := c.GetLicenseString(ctx, devInfo)
	if err != nil {
		t.Fatal(err)
	}
	lic, err := sdk.VerifyDeviceLicense(token, w.srv.Public, devInfo, time.Now())
	if err != nil || lic.License != w.code {
		t.Fatalf("verify: %+v %v", lic, err)
	}
	if _, err := sdk.VerifyDeviceLicense(token, w.srv.Public, "0A:00:00:00:00:09|OTHER|BOARD|OTHERCPU", time.Now()); !errors.Is(err, sdk.ErrLicenseWrongDevice) {
		t.Fatalf("another device: %v", err)
	}
	path, err := c.GetLicenseFile(ctx, "testcad.lic", devInfo)
	if b, rerr := os.ReadFile(path); err != nil || rerr != nil || !strings.HasPrefix(string(b), "ey") {
		t.Fatalf("license file %q: %v %v", path, err, rerr)
	}
	if err := c.LicenseVerifyNotify(ctx, true, ""); err != nil {
		t.Fatal(err)
	}

	// Save a file, then an assembly.
	model := filepath.Join(w.dir, "work", "bracket.prt")
	writeFile(t, model, strings.Repeat("solid bracket\n", 50000))
	out, err := c.Save(ctx, model, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Result.Params["sha256"]; got != sha256File(t, model) {
		t.Fatalf("saved sha256 %s", got)
	}
	asm := filepath.Join(w.dir, "work", "gearbox", "gearbox.asm")
	writeFile(t, asm, "assembly")
	writeFile(t, filepath.Join(w.dir, "work", "gearbox", "parts", "gear.prt"), "gear")
	if _, err := c.Save(ctx, asm, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Save(ctx, filepath.Join(w.dir, "missing.prt"), false); !errors.Is(err, sdk.ErrOperationFailed) || kindOf(err) != "not_exist" {
		t.Fatalf("save of a missing file: %v (kind %q)", err, kindOf(err))
	}

	// Open the newest cloud file (the assembly).
	of, err := c.OpenCloudFile(ctx)
	if err != nil || !strings.HasSuffix(of.MainFile, "gearbox.asm") {
		t.Fatalf("open: %+v %v", of, err)
	}

	// Solve.
	sol, err := c.GetSolution(ctx, model)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(sol.Result.Params["resultPath"], "result.txt")); err != nil || !strings.Contains(string(b), "bracket.prt") {
		t.Fatalf("solution: %+v %v", sol.Result.Params, err)
	}

	// Versions: the sandbox announces 2.0.0; testcad is 1.0.0.
	vc, err := c.CheckNewVersions(ctx)
	if err != nil || !vc.Available {
		t.Fatalf("version check: %+v %v", vc, err)
	}
	if _, err := c.UpgradeNotify(ctx, true); err != nil {
		t.Fatal(err)
	}

	// The callback runs on its own goroutine: wait until it has seen the
	// events of every call above.
	want := []string{protocol.EventLicenseVerify, protocol.EventUploadStart, protocol.EventUploadEnd, protocol.EventSaveResult,
		protocol.EventOpenFile, protocol.EventSolutionResult, protocol.EventUpgradeNotice, protocol.EventUpdate}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		seen := map[string]int{}
		for _, e := range events {
			seen[e.Operate]++
		}
		missing := ""
		for _, op := range want {
			if seen[op] == 0 {
				missing = op
			}
		}
		if missing == "" {
			for _, e := range events {
				for k, v := range e.Params {
					if k == "" || v == "" && k != protocol.ReasonKey && k != "log" {
						t.Errorf("%s: empty param %q=%q", e.Operate, k, v)
					}
				}
			}
			mu.Unlock()
			return
		}
		mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s event (saw %v)", missing, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The update arrives as an Update event once the package is verified.
func TestUpgradeEvent(t *testing.T) {
	w, c := connected(t, time.Second)
	ctx := ctxT(t)
	events := c.Events() // before the call: the channel gets events from then on
	id, err := c.UpgradeNotify(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	for found := false; !found; {
		select {
		case e := <-events:
			if e.RequestID() != id {
				continue
			}
			if e.Operate != protocol.EventUpdate || e.Params["fromForceWin"] != "false" {
				t.Fatalf("event %+v", e)
			}
			found = true
		case <-ctx.Done():
			t.Fatal("no Update event")
		}
	}
	files, _ := filepath.Glob(filepath.Join(w.dir, "updates", "2.0.0-*"))
	if len(files) != 1 {
		t.Fatalf("downloaded: %v", files)
	}
}

// No device license once the marketplace released the code: the license
// server learns it when it asks.
func TestLicenseRefusedWhenReleased(t *testing.T) {
	w, c := connected(t, time.Second)
	if err := w.sandbox.SetStatus(w.code, licensing.StatusReleased); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetLicenseString(ctxT(t), devInfo)
	var oe *sdk.OperationError
	if !errors.As(err, &oe) || !strings.Contains(oe.Reason(), "released") || oe.Kind() != "released" {
		t.Fatalf("err = %v (kind %q)", err, kindOf(err))
	}
	if _, err := c.GetLicenseString(ctxT(t), "not a fingerprint"); err == nil {
		t.Fatal("a malformed devInfo was accepted")
	}
}

// Failed calls say why in a kind a program can branch on (OperationError.Kind),
// on the final event and on UploadEnd.
func TestFailureKinds(t *testing.T) {
	w, c := connected(t, 10*time.Second)
	ctx := ctxT(t)
	events := c.Events()

	// Nothing in the cloud drive yet: nothing to open.
	if _, err := c.OpenCloudFile(ctx); kindOf(err) != "not_exist" {
		t.Errorf("open with an empty cloud drive: %v (kind %q)", err, kindOf(err))
	}
	_, err := c.Save(ctx, filepath.Join(w.dir, "missing.prt"), false)
	if kindOf(err) != "not_exist" {
		t.Errorf("save of a missing file: %v (kind %q)", err, kindOf(err))
	}
	if end := waitEvent(t, events, protocol.EventUploadEnd, requestID(err)); end.Params["status"] != protocol.StatusFailed || end.Params[protocol.KindKey] != "not_exist" {
		t.Errorf("UploadEnd of a failed save: %v", end.Params)
	}
	hidden := filepath.Join(w.dir, "work", ".hidden.prt")
	writeFile(t, hidden, "x")
	if _, err := c.Save(ctx, hidden, false); kindOf(err) != "invalid" {
		t.Errorf("save under a reserved name: %v (kind %q)", err, kindOf(err))
	}
	failing := filepath.Join(w.dir, "work", "fail.inp")
	writeFile(t, failing, "x")
	_, err = c.GetSolution(ctx, failing)
	var oe *sdk.OperationError
	if !errors.As(err, &oe) || oe.Kind() != "failed" || oe.Event.Params["exitCode"] != "3" {
		t.Errorf("failing solve: %v (kind %q)", err, kindOf(err))
	}
	if _, err := c.GetSolution(ctx, filepath.Join(w.dir, "missing.inp")); kindOf(err) != "not_exist" {
		t.Errorf("solve of a missing model: %v (kind %q)", err, kindOf(err))
	}
}

// kindOf is the kind of a failed operation's event, "" for another error.
func kindOf(err error) string {
	var oe *sdk.OperationError
	if errors.As(err, &oe) {
		return oe.Kind()
	}
	return ""
}

// requestID is the request id of a failed operation's event.
func requestID(err error) string {
	var oe *sdk.OperationError
	if errors.As(err, &oe) {
		return oe.Event.RequestID()
	}
	return ""
}

// waitEvent returns the event operate of request id from events.
func waitEvent(t *testing.T, events <-chan protocol.Event, operate, id string) protocol.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Operate == operate && e.RequestID() == id {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event for request %q", operate, id)
		}
	}
}

func TestSolverTimeout(t *testing.T) {
	w, c := connected(t, 300*time.Millisecond)
	slow := filepath.Join(w.dir, "slow.prt")
	writeFile(t, slow, "x")
	start := time.Now()
	_, err := c.GetSolution(ctxT(t), slow)
	if !errors.Is(err, sdk.ErrOperationFailed) || kindOf(err) != "failed" || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v (kind %q) after %v", err, kindOf(err), time.Since(start))
	}
}

func TestTwoClientsAndRestart(t *testing.T) {
	w := newWorld(t)
	socket := socketIn(t)
	stop := w.startAgent(t, socket, time.Second)
	a, b := connect(t, socket), connect(t, socket)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for _, c := range []*sdk.Client{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := c.GetLicenseString(ctx, devInfo); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()

	// A second agent on the same socket finds the first.
	second := agent.New(agent.Config{SocketPath: socket})
	if _, err := second.Listen(); !errors.Is(err, agent.ErrAlreadyRunning) {
		t.Fatalf("second agent: %v", err)
	}

	// The agent restarts; the client reconnects by itself.
	stop()
	w.startAgent(t, socket, time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := a.GetLicenseString(ctx, devInfo)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Garbage, oversized and half-written frames: errors, never a crash, and
// the agent keeps serving others.
func TestHostileFrames(t *testing.T) {
	w := newWorld(t)
	socket := socketIn(t)
	w.startAgent(t, socket, time.Second)
	good := connect(t, socket)

	raw, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(raw)
	if _, err := raw.Write([]byte("this is not json\n")); err != nil {
		t.Fatal(err)
	}
	m, err := protocol.ReadMessage(r)
	if err != nil || m.Error == nil || m.Error.Code != protocol.CodeParseError {
		t.Fatalf("garbage answered with %+v %v", m, err)
	}
	// A call before hello is refused.
	if _, err := raw.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"save","params":{"path":"/x"}}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if m, err := protocol.ReadMessage(r); err != nil || m.Error == nil || m.Error.Code != protocol.CodeInvalidRequest {
		t.Fatalf("call before hello: %+v %v", m, err)
	}
	// Garbage without end: the agent hangs up.
	for range 10 {
		_, _ = raw.Write([]byte("{{{\n"))
	}
	if !closedSoon(r) {
		t.Fatal("connection not closed after repeated garbage")
	}

	// An oversized frame: hung up on, without buffering it all.
	big, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	go func() { _, _ = big.Write(make([]byte, protocol.MaxFrameBytes+10)) }()
	if !closedSoon(bufio.NewReader(big)) {
		t.Fatal("oversized frame not refused")
	}

	// A half-written frame, then the writer goes away.
	half, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = half.Write([]byte(`{"jsonrpc":"2.0","id":1,"meth`))
	half.Close()

	if _, err := good.GetLicenseString(ctxT(t), devInfo); err != nil {
		t.Fatalf("the agent stopped serving others: %v", err)
	}
}

// closedSoon reads until the peer closes (true) or 5 s pass (false).
func closedSoon(r *bufio.Reader) bool {
	done := make(chan bool, 1)
	go func() {
		for {
			if _, err := r.ReadByte(); err != nil {
				done <- true
				return
			}
		}
	}()
	select {
	case <-done:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sha256File(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
