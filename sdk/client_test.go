package sdk_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
)

// connect connects a client to a with fast reconnects, closed at the end of
// the test.
func connect(t testing.TB, a *fakeAgent, opts ...sdk.Option) *sdk.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts = append([]sdk.Option{sdk.WithSocketPath(a.path), sdk.WithBackoff(5*time.Millisecond, 50*time.Millisecond)}, opts...)
	c, err := sdk.Connect(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testCtx bounds every call of a test, so a bug shows as a failure, not a
// hung test binary.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func nextEvent(t testing.TB, ch <-chan protocol.Event) protocol.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("event channel closed")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return protocol.Event{}
}

func eventJSON(t testing.TB, e protocol.Event) string {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestConnectSaysHello(t *testing.T) {
	a := newFakeAgent(t)
	c := connect(t, a, sdk.WithApp("cad", "1.2.3"))
	a.mu.Lock()
	got := a.hellos
	a.mu.Unlock()
	want := protocol.HelloParams{Protocol: protocol.Version, App: "cad", Version: "1.2.3", PID: os.Getpid()}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("hellos = %+v, want [%+v]", got, want)
	}
	if v := c.AgentVersion(); v != "fake-1" {
		t.Errorf("AgentVersion = %q", v)
	}
	if !c.Connected() {
		t.Error("Connected = false")
	}
}

func TestConnectFailures(t *testing.T) {
	t.Run("no agent", func(t *testing.T) {
		_, err := sdk.Connect(testCtx(t), sdk.WithSocketPath(socketPath(t)))
		if err == nil {
			t.Fatal("Connect succeeded without an agent")
		}
	})
	t.Run("version refused", func(t *testing.T) {
		a := newFakeAgent(t)
		a.override(protocol.MethodHello, func(_ *fakeAgent, cn *agentConn, m protocol.Message) {
			cn.fail(m.ID, protocol.CodeVersion, "protocol 1 not supported")
		})
		_, err := sdk.Connect(testCtx(t), sdk.WithSocketPath(a.path))
		var rpc *protocol.RPCError
		if !errors.As(err, &rpc) || rpc.Code != protocol.CodeVersion {
			t.Fatalf("err = %v, want an RPCError with CodeVersion", err)
		}
	})
	t.Run("no hello answer", func(t *testing.T) {
		a := newFakeAgent(t)
		a.override(protocol.MethodHello, func(*fakeAgent, *agentConn, protocol.Message) {})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := sdk.Connect(ctx, sdk.WithSocketPath(a.path))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Connect took %v after its deadline", d)
		}
	})
	// An error answer without an id (JSON-RPC's answer to a request it
	// could not read) or a result without one must fail the hello, not
	// panic the program (nil id dereference, issue 11 finding 4).
	for name, tc := range map[string]struct {
		frame string
		want  error
	}{
		"id-less error answer":  {`{"jsonrpc":"2.0","error":{"code":-32700,"message":"parse error"}}`, sdk.ErrProtocol},
		"id-less result answer": {`{"jsonrpc":"2.0","result":{"protocol":1}}`, protocol.ErrBadFrame},
	} {
		t.Run(name, func(t *testing.T) {
			a := newFakeAgent(t)
			a.override(protocol.MethodHello, func(_ *fakeAgent, cn *agentConn, _ protocol.Message) {
				_ = cn.raw([]byte(tc.frame + "\n"))
			})
			_, err := sdk.Connect(testCtx(t), sdk.WithSocketPath(a.path))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// A socket in a folder others may enter may have been put there by
	// another user: the client refuses it before it sends anything.
	t.Run("folder open to others", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("Unix permission bits")
		}
		a := newFakeAgent(t)
		if err := os.Chmod(filepath.Dir(a.path), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := sdk.Connect(testCtx(t), sdk.WithSocketPath(a.path))
		if !errors.Is(err, sdk.ErrNotPrivate) || !strings.Contains(err.Error(), filepath.Dir(a.path)) {
			t.Fatalf("err = %v, want ErrNotPrivate naming the folder", err)
		}
		if n := a.helloCount(); n != 0 {
			t.Errorf("the agent got %d hellos through a folder open to others", n)
		}
	})
	t.Run("garbage instead of hello", func(t *testing.T) {
		a := newFakeAgent(t)
		a.override(protocol.MethodHello, func(_ *fakeAgent, cn *agentConn, _ protocol.Message) {
			_ = cn.raw([]byte("HTTP/1.1 400 Bad Request\n"))
		})
		_, err := sdk.Connect(testCtx(t), sdk.WithSocketPath(a.path))
		if !errors.Is(err, protocol.ErrBadFrame) {
			t.Fatalf("err = %v, want ErrBadFrame", err)
		}
	})
}

// TestCalls makes every call, in both forms, and checks its answer and its
// events in the exact published shape.
func TestCalls(t *testing.T) {
	a := newFakeAgent(t)
	c := connect(t, a)
	events := c.Events()
	ctx := testCtx(t)

	// expectEvents reads the events of one request from the channel.
	expectEvents := func(t *testing.T, rid string, want ...string) {
		t.Helper()
		for _, w := range want {
			e := nextEvent(t, events)
			if got := eventJSON(t, e); got != strings.ReplaceAll(w, "$RID", rid) {
				t.Errorf("event\n got %s\nwant %s", got, strings.ReplaceAll(w, "$RID", rid))
			}
		}
	}

	t.Run("GetLicenseString", func(t *testing.T) {
		token, err := c.GetLicenseString(ctx, testDevInfo)
		if err != nil {
			t.Fatal(err)
		}
		lic, err := sdk.VerifyDeviceLicense(token, testVendorKey().Public().(ed25519.PublicKey), testDevInfo, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if lic.License != "LIC-TEST-0001" || lic.DevInfo != testDevInfo {
			t.Errorf("claims = %+v", lic)
		}
		e := nextEvent(t, events)
		if e.Operate != protocol.EventLicenseVerify || e.Params["LicenseContent"] != token || e.Params["LicenseType"] != "string" || e.Params["Status"] != "success" {
			t.Errorf("event = %+v", e)
		}
	})
	t.Run("GetLicenseStringRequest", func(t *testing.T) {
		rid, err := c.GetLicenseStringRequest(ctx, testDevInfo, sdk.ComeBackParams(map[string]string{"doc": "7"}))
		if err != nil {
			t.Fatal(err)
		}
		e := nextEvent(t, events)
		if e.RequestID() != rid || e.ComeBackParams["doc"] != "7" || e.Operate != protocol.EventLicenseVerify {
			t.Errorf("event = %+v, want request %s with doc=7", e, rid)
		}
	})
	t.Run("GetLicenseString invalid params", func(t *testing.T) {
		_, err := c.GetLicenseString(ctx, "")
		var rpc *protocol.RPCError
		if !errors.As(err, &rpc) || rpc.Code != protocol.CodeInvalidParams || errors.Is(err, sdk.ErrRefused) {
			t.Fatalf("err = %v, want an RPCError with CodeInvalidParams", err)
		}
	})
	t.Run("GetLicenseFile", func(t *testing.T) {
		path, err := c.GetLicenseFile(ctx, "cad.lic", testDevInfo)
		if err != nil || path != "/licenses/cad.lic" {
			t.Fatalf("GetLicenseFile = %q, %v", path, err)
		}
		e := nextEvent(t, events)
		want := `{"operate":"LicenseVerify","params":{"LicenseFilePath":"/licenses/cad.lic","LicenseType":"file","Status":"success"},"comeBackParams":{"requestId":"` + e.RequestID() + `"}}`
		if got := eventJSON(t, e); got != want || e.RequestID() == "" {
			t.Errorf("event\n got %s\nwant %s", got, want)
		}
	})
	t.Run("GetLicenseFileRequest", func(t *testing.T) {
		rid, err := c.GetLicenseFileRequest(ctx, "cad.lic", testDevInfo)
		if err != nil {
			t.Fatal(err)
		}
		expectEvents(t, rid, `{"operate":"LicenseVerify","params":{"LicenseFilePath":"/licenses/cad.lic","LicenseType":"file","Status":"success"},"comeBackParams":{"requestId":"$RID"}}`)
	})
	t.Run("LicenseVerifyNotify", func(t *testing.T) {
		if err := c.LicenseVerifyNotify(ctx, false, "wrong product"); err != nil {
			t.Fatal(err)
		}
		a.mu.Lock()
		got := a.notifies[len(a.notifies)-1]
		a.mu.Unlock()
		if got != (protocol.VerifyNotifyParams{OK: false, ErrMsg: "wrong product"}) {
			t.Errorf("agent got %+v", got)
		}
	})
	t.Run("CheckNewVersions", func(t *testing.T) {
		vc, err := c.CheckNewVersions(ctx)
		if err != nil || !vc.Available || vc.Version != "2.0" {
			t.Fatalf("CheckNewVersions = %+v, %v", vc, err)
		}
		expectEvents(t, vc.Event.RequestID(), `{"operate":"UpgradeNotice","params":{"available":"true","version":"2.0"},"comeBackParams":{"requestId":"$RID"}}`)
	})
	t.Run("CheckNewVersionsRequest", func(t *testing.T) {
		rid, err := c.CheckNewVersionsRequest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		expectEvents(t, rid, `{"operate":"UpgradeNotice","params":{"available":"true","version":"2.0"},"comeBackParams":{"requestId":"$RID"}}`)
	})
	t.Run("UpgradeNotify", func(t *testing.T) {
		rid, err := c.UpgradeNotify(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		expectEvents(t, rid, `{"operate":"Update","params":{"fromForceWin":"false"},"comeBackParams":{"requestId":"$RID"}}`)
	})
	t.Run("OpenCloudFile", func(t *testing.T) {
		f, err := c.OpenCloudFile(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.MainFile != "/cloud/bracket/bracket.asm" || f.OpenType != "OpenOnly" || f.WorkState != "CHECKIN" || !f.Assembly {
			t.Errorf("OpenCloudFile = %+v", f)
		}
		expectEvents(t, f.Event.RequestID(), `{"operate":"OpenFile","params":{"assembly":"true","mainFile":"/cloud/bracket/bracket.asm","openType":"OpenOnly","workState":"CHECKIN"},"comeBackParams":{"requestId":"$RID"}}`)
	})
	t.Run("OpenCloudFileRequest", func(t *testing.T) {
		rid, err := c.OpenCloudFileRequest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if e := nextEvent(t, events); e.Operate != protocol.EventOpenFile || e.RequestID() != rid {
			t.Errorf("event = %+v", e)
		}
	})
	t.Run("SelectSaveAsPath", func(t *testing.T) {
		p, err := c.SelectSaveAsPath(ctx, "bracket.prt")
		if err != nil {
			t.Fatal(err)
		}
		if p.Path != "/cloud/bracket.prt" || p.Name != "bracket.prt" || p.FileName != "bracket.prt" || p.Assembly {
			t.Errorf("SelectSaveAsPath = %+v", p)
		}
		expectEvents(t, p.Event.RequestID(), `{"operate":"SaveAsPath","params":{"assembly":"false","fileName":"bracket.prt","name":"bracket.prt","savePath":"/cloud/bracket.prt"},"comeBackParams":{"requestId":"$RID"}}`)
	})
	t.Run("SelectSaveAsPath assembly", func(t *testing.T) {
		p, err := c.SelectSaveAsPath(ctx, "gearbox.asm", sdk.SaveAsAssembly())
		if err != nil {
			t.Fatal(err)
		}
		if p.Path != "/cloud/gearbox/gearbox.asm" || p.Name != "gearbox" || p.FileName != "gearbox.asm" || !p.Assembly {
			t.Errorf("SelectSaveAsPath = %+v", p)
		}
		nextEvent(t, events)
	})
	t.Run("SelectSaveAsPathRequest", func(t *testing.T) {
		rid, err := c.SelectSaveAsPathRequest(ctx, "bracket.prt", sdk.ComeBackParams(map[string]string{"doc": "3"}))
		if err != nil {
			t.Fatal(err)
		}
		if e := nextEvent(t, events); e.Operate != protocol.EventSaveAsPath || e.RequestID() != rid || e.ComeBackParams["doc"] != "3" {
			t.Errorf("event = %+v", e)
		}
	})
	t.Run("SelectSaveAsPath canceled", func(t *testing.T) {
		_, err := c.SelectSaveAsPath(ctx, "cancel.prt")
		var op *sdk.OperationError
		if !errors.As(err, &op) || op.Kind() != "canceled" || op.Event.Operate != protocol.EventSaveAsPath {
			t.Fatalf("err = %v", err)
		}
		nextEvent(t, events)
	})
	t.Run("SelectSaveAsPath hostile answer", func(t *testing.T) {
		p, err := c.SelectSaveAsPath(ctx, "hostile.prt")
		if !errors.Is(err, sdk.ErrProtocol) || p.Path != "" {
			t.Fatalf("an answer naming another file: %+v, %v", p, err)
		}
		nextEvent(t, events)
	})
	t.Run("SelectSaveAsPath invalid", func(t *testing.T) {
		_, err := c.SelectSaveAsPath(ctx, "")
		var rpc *protocol.RPCError
		if !errors.As(err, &rpc) || rpc.Code != protocol.CodeInvalidParams {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Save", func(t *testing.T) {
		out, err := c.Save(ctx, "/projects/part.prt", false)
		if err != nil {
			t.Fatal(err)
		}
		if out.Result.Operate != protocol.EventSaveResult || out.Result.Params["name"] != "part.prt" || out.RequestID == "" {
			t.Errorf("Save = %+v", out)
		}
		expectEvents(t, out.RequestID,
			`{"operate":"UploadStart","params":{"assembly":"false","path":"/projects/part.prt"},"comeBackParams":{"requestId":"$RID"}}`,
			`{"operate":"UploadEnd","params":{"path":"/projects/part.prt","status":"success"},"comeBackParams":{"requestId":"$RID"}}`,
			`{"operate":"SaveResult","params":{"name":"part.prt","status":"success"},"comeBackParams":{"requestId":"$RID"}}`)
	})
	t.Run("Save assembly", func(t *testing.T) {
		out, err := c.Save(ctx, "/projects/bracket/bracket.asm", true)
		if err != nil {
			t.Fatal(err)
		}
		if e := nextEvent(t, events); e.Operate != protocol.EventUploadStart || e.Params["assembly"] != "true" {
			t.Errorf("event = %+v", e)
		}
		expectEvents(t, out.RequestID,
			`{"operate":"UploadEnd","params":{"path":"/projects/bracket/bracket.asm","status":"success"},"comeBackParams":{"requestId":"$RID"}}`,
			`{"operate":"SaveResult","params":{"name":"bracket.asm","status":"success"},"comeBackParams":{"requestId":"$RID"}}`)
	})
	t.Run("SaveRequest", func(t *testing.T) {
		rid, err := c.SaveRequest(ctx, "/projects/part.prt", false, sdk.ComeBackParams(map[string]string{"window": "2"}))
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range []string{protocol.EventUploadStart, protocol.EventUploadEnd, protocol.EventSaveResult} {
			if e := nextEvent(t, events); e.Operate != op || e.RequestID() != rid || e.ComeBackParams["window"] != "2" {
				t.Errorf("event = %+v, want %s of %s with window=2", e, op, rid)
			}
		}
	})
	t.Run("Save failed", func(t *testing.T) {
		out, err := c.Save(ctx, "/projects/fail.prt", false)
		var op *sdk.OperationError
		if !errors.Is(err, sdk.ErrOperationFailed) || !errors.As(err, &op) || op.Reason() != "disk full" {
			t.Fatalf("err = %v, want an OperationError with reason %q", err, "disk full")
		}
		if !strings.Contains(err.Error(), "disk full") || out.Result.Operate != protocol.EventSaveResult {
			t.Errorf("err = %v, outcome = %+v", err, out)
		}
		for range 3 {
			nextEvent(t, events)
		}
	})
	t.Run("Save refused", func(t *testing.T) {
		_, err := c.Save(ctx, "/projects/refuse.prt", false)
		var rpc *protocol.RPCError
		if !errors.Is(err, sdk.ErrRefused) || !errors.As(err, &rpc) || rpc.Message != "no valid license" {
			t.Fatalf("err = %v, want ErrRefused with the agent's message", err)
		}
	})
	t.Run("GetSolution", func(t *testing.T) {
		out, err := c.GetSolution(ctx, "/projects/model.inp")
		if err != nil || out.Result.Params["resultPath"] != "/results/1" {
			t.Fatalf("GetSolution = %+v, %v", out, err)
		}
		expectEvents(t, out.RequestID, `{"operate":"SolutionResult","params":{"exitCode":"0","resultPath":"/results/1","status":"success"},"comeBackParams":{"requestId":"$RID"}}`)
	})
	t.Run("GetSolutionRequest", func(t *testing.T) {
		rid, err := c.GetSolutionRequest(ctx, "/projects/model.inp")
		if err != nil {
			t.Fatal(err)
		}
		if e := nextEvent(t, events); e.Operate != protocol.EventSolutionResult || e.RequestID() != rid {
			t.Errorf("event = %+v", e)
		}
	})
	if p, w := c.Waiting(); p != 0 || w != 0 {
		t.Errorf("left waiting: %d calls, %d helpers", p, w)
	}
	if n := c.DroppedEvents(); n != 0 {
		t.Errorf("DroppedEvents = %d", n)
	}
}

func TestCallbackAndChannel(t *testing.T) {
	a := newFakeAgent(t)
	c := connect(t, a)
	ch := c.Events()
	var mu sync.Mutex
	var viaCallback []string
	nested := make(chan error, 1)
	c.RegisterEventRecall(func(e protocol.Event) {
		mu.Lock()
		viaCallback = append(viaCallback, e.Operate)
		mu.Unlock()
		if e.Operate == protocol.EventUploadStart && e.ComeBackParams["nested"] == "" {
			// A synchronous call from inside the callback must not
			// deadlock: the reader goroutine never waits for the callback.
			_, err := c.CheckNewVersions(testCtx(t), sdk.ComeBackParams(map[string]string{"nested": "1"}))
			nested <- err
		}
	})
	if _, err := c.Save(testCtx(t), "/projects/part.prt", false); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-nested:
		if err != nil {
			t.Fatalf("call from the callback: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("call from the callback hung")
	}
	var viaChannel []string
	for range 4 {
		viaChannel = append(viaChannel, nextEvent(t, ch).Operate)
	}
	want := []string{protocol.EventUploadStart, protocol.EventUploadEnd, protocol.EventSaveResult, protocol.EventUpgradeNotice}
	if fmt.Sprint(viaChannel) != fmt.Sprint(want) {
		t.Errorf("channel got %v, want %v", viaChannel, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(viaCallback) != fmt.Sprint(want) {
		t.Errorf("callback got %v, want %v", viaCallback, want)
	}
}

func TestCloseInsideCallback(t *testing.T) {
	a := newFakeAgent(t)
	c := connect(t, a)
	closed := make(chan error, 1)
	c.RegisterEventRecall(func(protocol.Event) { closed <- c.Close() })
	ch := c.Events()
	if _, err := c.SaveRequest(testCtx(t), "/projects/part.prt", false); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close from inside the callback deadlocked")
	}
	// The channel ends: ranging over it terminates.
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				if _, err := c.Save(testCtx(t), "/projects/part.prt", false); !errors.Is(err, sdk.ErrClosed) {
					t.Fatalf("call after Close: %v, want ErrClosed", err)
				}
				return
			}
		case <-deadline:
			t.Fatal("Events channel not closed after Close")
		}
	}
}

func TestEventChannelDropsOldest(t *testing.T) {
	a := newFakeAgent(t)
	c := connect(t, a, sdk.WithEventBuffer(2))
	ch := c.Events()
	var last string
	for range 2 {
		out, err := c.Save(testCtx(t), "/projects/part.prt", false)
		if err != nil {
			t.Fatal(err)
		}
		last = out.RequestID
	}
	// 6 events into a channel of 2 that nobody reads: the reader never
	// blocks, the 4 oldest are dropped and counted.
	for deadline := time.Now().Add(5 * time.Second); c.DroppedEvents() < 4; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("DroppedEvents = %d, want 4", c.DroppedEvents())
		}
	}
	for _, op := range []string{protocol.EventUploadEnd, protocol.EventSaveResult} {
		if e := nextEvent(t, ch); e.Operate != op || e.RequestID() != last {
			t.Errorf("kept %s of %s, want %s of %s", e.Operate, e.RequestID(), op, last)
		}
	}
	// The client still works.
	if _, err := c.CheckNewVersions(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestTwoClients(t *testing.T) {
	a := newFakeAgent(t)
	c1 := connect(t, a, sdk.WithApp("cad", "1"))
	c2 := connect(t, a, sdk.WithApp("cae", "1"))
	ch1, ch2 := c1.Events(), c2.Events()
	var wg sync.WaitGroup
	for i, c := range []*sdk.Client{c1, c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := c.Save(testCtx(t), fmt.Sprintf("/projects/part%d.prt", i), false); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, ch := range []<-chan protocol.Event{ch1, ch2} {
		for range 60 {
			e := nextEvent(t, ch)
			if p := e.Params["path"]; p != "" && p != fmt.Sprintf("/projects/part%d.prt", i) {
				t.Fatalf("client %d got an event of the other client: %+v", i+1, e)
			}
		}
	}
	if a.helloCount() != 2 {
		t.Errorf("agent saw %d hellos, want 2", a.helloCount())
	}
}

func TestAgentRestart(t *testing.T) {
	a := newFakeAgent(t)
	c := connect(t, a)
	a.waitHello(t)
	a.override(protocol.MethodSave, acceptOnly)

	// A synchronous Save waits for a SaveResult that the agent will never
	// send: the agent exits with the call in flight.
	inFlight := make(chan error, 1)
	go func() {
		_, err := c.Save(testCtx(t), "/projects/part.prt", false)
		inFlight <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, w := c.Waiting(); w == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Save was not accepted")
		}
	}
	a.stop()
	select {
	case err := <-inFlight:
		if !errors.Is(err, sdk.ErrDisconnected) {
			t.Fatalf("in-flight Save: %v, want ErrDisconnected", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight Save did not fail when the agent went away")
	}

	// While no agent runs, a call gives up after the reconnect wait.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.CheckNewVersions(short); err == nil {
		t.Fatal("call succeeded without an agent")
	}

	// The agent comes back at the same path: the client redials, says
	// hello again, and a later call succeeds.
	b, err := startFakeAgent(a.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.stop)
	b.waitHello(t)
	for deadline := time.Now().Add(5 * time.Second); !c.Connected(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Connected = false after the hello")
		}
	}
	if _, err := c.Save(testCtx(t), "/projects/part.prt", false); err != nil {
		t.Fatalf("Save after the restart: %v", err)
	}
	if p, w := c.Waiting(); p != 0 || w != 0 {
		t.Errorf("left waiting: %d calls, %d helpers", p, w)
	}
}

// TestCallWaitsForReconnect: a call made just after the agent restarted
// waits for the reconnection instead of failing.
func TestCallWaitsForReconnect(t *testing.T) {
	a := newFakeAgent(t)
	c := connect(t, a, sdk.WithReconnectWait(5*time.Second))
	a.stop()
	for deadline := time.Now().Add(5 * time.Second); c.Connected(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("client did not notice the agent went away")
		}
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		b, err := startFakeAgent(a.path)
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(b.stop)
	}()
	if _, err := c.CheckNewVersions(testCtx(t)); err != nil {
		t.Fatalf("call during the restart: %v", err)
	}
}

// TestBrokenFrames: whatever the agent sends that is not a frame, the call in
// flight fails with an error (wrapping ErrDisconnected and the cause) within
// its deadline, the client reconnects, and a later call works.
func TestBrokenFrames(t *testing.T) {
	oversized := func(_ *fakeAgent, cn *agentConn, _ protocol.Message) {
		// Written in the background: the client stops reading after the
		// cap and hangs up, which fails this write.
		go func() {
			_ = cn.raw([]byte(`{"jsonrpc":"2.0","result":"` + strings.Repeat("x", protocol.MaxFrameBytes) + `"}` + "\n"))
		}()
	}
	cases := []struct {
		name    string
		handler handlerFunc
		cause   error
	}{
		{"garbage", func(_ *fakeAgent, cn *agentConn, _ protocol.Message) { _ = cn.raw([]byte("\x00\xffnot json at all\n")) }, protocol.ErrBadFrame},
		{"not JSON-RPC", func(_ *fakeAgent, cn *agentConn, _ protocol.Message) {
			_ = cn.raw([]byte(`{"jsonrpc":"1.0","id":1,"result":{}}` + "\n"))
		}, protocol.ErrBadFrame},
		{"event of the wrong shape", func(_ *fakeAgent, cn *agentConn, _ protocol.Message) {
			_ = cn.raw([]byte(`{"jsonrpc":"2.0","method":"event","params":{"operate":"SaveResult","params":{"status":true}}}` + "\n"))
		}, protocol.ErrBadFrame},
		{"oversized", oversized, protocol.ErrFrameTooLarge},
		{"half-written then closed", func(_ *fakeAgent, cn *agentConn, _ protocol.Message) {
			_ = cn.raw([]byte(`{"jsonrpc":"2.0","id":`))
			cn.c.Close()
		}, io.ErrUnexpectedEOF},
		{"half-written then silent", func(_ *fakeAgent, cn *agentConn, _ protocol.Message) { _ = cn.raw([]byte(`{"jsonrpc":"2.0","id":`)) }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newFakeAgent(t)
			c := connect(t, a, sdk.WithFrameTimeout(200*time.Millisecond))
			a.waitHello(t)
			a.override(protocol.MethodSave, tc.handler)

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			_, err := c.Save(ctx, "/projects/part.prt", false)
			if !errors.Is(err, sdk.ErrDisconnected) || tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Fatalf("err = %v, want ErrDisconnected wrapping %v", err, tc.cause)
			}
			if errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
				t.Fatalf("took %v (err %v): the client hung on the broken frame", time.Since(start), err)
			}
			t.Logf("error: %.200s", err)

			a.override(protocol.MethodSave, nil)
			a.waitHello(t) // reconnected
			if _, err := c.Save(testCtx(t), "/projects/part.prt", false); err != nil {
				t.Fatalf("Save after reconnecting: %v", err)
			}
		})
	}
}

func TestContextCancellation(t *testing.T) {
	t.Run("waiting for the final event", func(t *testing.T) {
		a := newFakeAgent(t)
		c := connect(t, a)
		a.override(protocol.MethodSave, acceptOnly)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.Save(ctx, "/projects/part.prt", false)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		if p, w := c.Waiting(); p != 0 || w != 0 {
			t.Errorf("left waiting: %d calls, %d helpers", p, w)
		}
		if _, err := c.GetSolution(testCtx(t), "/projects/model.inp"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("waiting for the response", func(t *testing.T) {
		a := newFakeAgent(t)
		c := connect(t, a)
		a.override(protocol.MethodSave, func(*fakeAgent, *agentConn, protocol.Message) {})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := c.SaveRequest(ctx, "/projects/part.prt", false)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want Canceled", err)
		}
		if p, w := c.Waiting(); p != 0 || w != 0 {
			t.Errorf("left waiting: %d calls, %d helpers", p, w)
		}
	})
	t.Run("already done", func(t *testing.T) {
		a := newFakeAgent(t)
		c := connect(t, a)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.OpenCloudFile(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want Canceled", err)
		}
	})
}

func TestConcurrentCalls(t *testing.T) {
	a := newFakeAgent(t)
	c := connect(t, a)
	c.RegisterEventRecall(func(protocol.Event) {})
	const goroutines, calls = 32, 25
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := testCtx(t)
			for i := range calls {
				var err error
				switch (g + i) % 4 {
				case 0:
					_, err = c.Save(ctx, fmt.Sprintf("/projects/%d-%d.prt", g, i), i%2 == 0)
				case 1:
					err = c.LicenseVerifyNotify(ctx, true, "")
				case 2:
					_, err = c.GetLicenseString(ctx, testDevInfo)
				default:
					_, err = c.SaveRequest(ctx, "/projects/x.prt", false)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if p, w := c.Waiting(); p != 0 || w != 0 {
		t.Errorf("left waiting: %d calls, %d helpers", p, w)
	}
}

func TestCloseFailsCallsInFlight(t *testing.T) {
	a := newFakeAgent(t)
	c := connect(t, a)
	a.override(protocol.MethodSave, acceptOnly)
	done := make(chan error, 1)
	go func() {
		_, err := c.Save(testCtx(t), "/projects/part.prt", false)
		done <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, w := c.Waiting(); w == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Save was not accepted")
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, sdk.ErrClosed) {
		t.Fatalf("in-flight Save: %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestCloseReleasesGoroutines: after Close (and the agent's stop) the
// client leaves nothing running, reconnect loop included.
func TestCloseReleasesGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	a, err := startFakeAgent(socketPath(t))
	if err != nil {
		t.Fatal(err)
	}
	c, err := sdk.Connect(testCtx(t), sdk.WithSocketPath(a.path), sdk.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	c.Events()
	c.RegisterEventRecall(func(protocol.Event) {})
	if _, err := c.Save(testCtx(t), "/projects/part.prt", false); err != nil {
		t.Fatal(err)
	}
	a.stop() // the client now loops redialling
	time.Sleep(30 * time.Millisecond)
	c.Close()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
	}
}
