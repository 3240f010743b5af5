package sdk_test

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/token"
)

// The fake agent speaks the protocol over a real Unix socket using only
// package protocol (frames, message and event types), as the agent does.

// testDevInfo is the fingerprint the tests ask licenses for.
const testDevInfo = "04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.|PF0ABC12|BFEBFBFF00090672"

// testVendorKey is the vendor key of the fake agent's license source; fixed
// so examples print stable output.
func testVendorKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

// agentConn is one connected program, as the agent sees it.
type agentConn struct {
	c  net.Conn
	mu sync.Mutex
}

func (cn *agentConn) send(m protocol.Message) error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return protocol.WriteMessage(cn.c, m)
}

// raw writes bytes that need not be a frame.
func (cn *agentConn) raw(b []byte) error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	_, err := cn.c.Write(b)
	return err
}

func (cn *agentConn) reply(id *uint64, result any) {
	b, _ := json.Marshal(result)
	_ = cn.send(protocol.Message{ID: id, Result: b})
}

func (cn *agentConn) fail(id *uint64, code int, msg string) {
	_ = cn.send(protocol.Message{ID: id, Error: &protocol.RPCError{Code: code, Message: msg}})
}

func (cn *agentConn) emit(operate, rid string, comeBack map[string]string, params map[string]string) {
	cb := map[string]string{protocol.RequestIDKey: rid}
	for k, v := range comeBack {
		cb[k] = v
	}
	b, _ := json.Marshal(protocol.Event{Operate: operate, Params: params, ComeBackParams: cb})
	_ = cn.send(protocol.Message{Method: protocol.MethodEvent, Params: b})
}

// handlerFunc overrides the fake's behaviour for one method.
type handlerFunc func(a *fakeAgent, cn *agentConn, m protocol.Message)

// fakeAgent is an in-process agent with the default behaviour of every
// call, and overrides for misbehaving.
type fakeAgent struct {
	path string
	ln   net.Listener
	key  ed25519.PrivateKey
	wg   sync.WaitGroup

	mu        sync.Mutex
	conns     map[*agentConn]bool
	overrides map[string]handlerFunc
	hellos    []protocol.HelloParams
	notifies  []protocol.VerifyNotifyParams
	nextRID   int
	newConn   chan struct{} // signalled on each hello
}

// startFakeAgent listens at path. It takes no *testing.T so that examples can
// use it too.
func startFakeAgent(path string) (*fakeAgent, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	a := &fakeAgent{
		path: path, ln: ln, key: testVendorKey(),
		conns: map[*agentConn]bool{}, overrides: map[string]handlerFunc{},
		newConn: make(chan struct{}, 64),
	}
	a.wg.Add(1)
	go a.accept()
	return a, nil
}

// newFakeAgent starts an agent in a temporary folder for the test.
func newFakeAgent(t testing.TB) *fakeAgent {
	t.Helper()
	a, err := startFakeAgent(socketPath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.stop)
	return a
}

// socketPath is a socket path in a private (0700) temporary folder, as the
// client requires, short enough for sun_path (104 bytes on macOS, 108 on
// Linux) even under long test names.
func socketPath(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if p := filepath.Join(dir, "agent.sock"); len(p) < 100 {
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dir, err := os.MkdirTemp("", "sdk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "agent.sock")
}

// stop closes the listener and every connection, as an agent that exits.
func (a *fakeAgent) stop() {
	a.ln.Close()
	a.mu.Lock()
	for cn := range a.conns {
		cn.c.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
}

func (a *fakeAgent) override(method string, h handlerFunc) {
	a.mu.Lock()
	a.overrides[method] = h
	a.mu.Unlock()
}

// waitHello waits for the next hello (a client connected or reconnected).
func (a *fakeAgent) waitHello(t testing.TB) {
	t.Helper()
	select {
	case <-a.newConn:
	case <-time.After(5 * time.Second):
		t.Fatal("no hello within 5s")
	}
}

func (a *fakeAgent) helloCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.hellos)
}

func (a *fakeAgent) accept() {
	defer a.wg.Done()
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return
		}
		cn := &agentConn{c: c}
		a.mu.Lock()
		a.conns[cn] = true
		a.mu.Unlock()
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer func() {
				a.mu.Lock()
				delete(a.conns, cn)
				a.mu.Unlock()
				c.Close()
			}()
			r := bufio.NewReader(c)
			for {
				m, err := protocol.ReadMessage(r)
				if err != nil {
					return
				}
				if m.ID != nil && m.Method != "" {
					a.handle(cn, m)
				}
			}
		}()
	}
}

func (a *fakeAgent) rid() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextRID++
	return fmt.Sprintf("r%d", a.nextRID)
}

// accept answers a call with a new request id, before any of its events.
func (a *fakeAgent) accepted(cn *agentConn, m protocol.Message) string {
	rid := a.rid()
	cn.reply(m.ID, protocol.Accepted{RequestID: rid})
	return rid
}

func (a *fakeAgent) token(devInfo string) string {
	now := time.Now()
	tok, err := token.Sign(a.key, token.Claims{
		Issuer: "fake-agent", License: "LIC-TEST-0001", DevInfo: devInfo, ProductID: "P-1",
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expires: now.Add(time.Hour).Unix(), ID: a.rid(),
	})
	if err != nil {
		panic(err) // the tests' own devInfo: a bug in the test
	}
	return tok
}

func (a *fakeAgent) handle(cn *agentConn, m protocol.Message) {
	a.mu.Lock()
	h := a.overrides[m.Method]
	a.mu.Unlock()
	if h != nil {
		h(a, cn, m)
		return
	}
	switch m.Method {
	case protocol.MethodHello:
		var p protocol.HelloParams
		_ = json.Unmarshal(m.Params, &p)
		if p.Protocol != protocol.Version {
			cn.fail(m.ID, protocol.CodeVersion, "unsupported protocol")
			return
		}
		a.mu.Lock()
		a.hellos = append(a.hellos, p)
		a.mu.Unlock()
		cn.reply(m.ID, protocol.HelloResult{Protocol: protocol.Version, AgentVersion: "fake-1"})
		select {
		case a.newConn <- struct{}{}:
		default: // nobody is counting
		}
	case protocol.MethodGetLicenseString, protocol.MethodGetLicenseFile:
		var p protocol.LicenseParams
		_ = json.Unmarshal(m.Params, &p)
		if p.DevInfo == "" {
			cn.fail(m.ID, protocol.CodeInvalidParams, "devInfo is empty")
			return
		}
		rid := a.accepted(cn, m)
		if m.Method == protocol.MethodGetLicenseString {
			cn.emit(protocol.EventLicenseVerify, rid, p.ComeBackParams, map[string]string{
				"Status": protocol.StatusSuccess, "LicenseContent": a.token(p.DevInfo), "LicenseType": "string"})
		} else {
			cn.emit(protocol.EventLicenseVerify, rid, p.ComeBackParams, map[string]string{
				"Status": protocol.StatusSuccess, "LicenseFilePath": "/licenses/" + p.FileName, "LicenseType": "file"})
		}
	case protocol.MethodLicenseVerifyNotify:
		var p protocol.VerifyNotifyParams
		_ = json.Unmarshal(m.Params, &p)
		a.mu.Lock()
		a.notifies = append(a.notifies, p)
		a.mu.Unlock()
		cn.reply(m.ID, struct{}{})
	case protocol.MethodCheckNewVersions:
		var p protocol.CallParams
		_ = json.Unmarshal(m.Params, &p)
		rid := a.accepted(cn, m)
		cn.emit(protocol.EventUpgradeNotice, rid, p.ComeBackParams, map[string]string{"available": "true", "version": "2.0"})
	case protocol.MethodUpgradeNotify:
		var p protocol.UpgradeParams
		_ = json.Unmarshal(m.Params, &p)
		rid := a.accepted(cn, m)
		cn.emit(protocol.EventUpdate, rid, p.ComeBackParams, map[string]string{"fromForceWin": "false"})
	case protocol.MethodOpenCloudFile:
		var p protocol.CallParams
		_ = json.Unmarshal(m.Params, &p)
		rid := a.accepted(cn, m)
		cn.emit(protocol.EventOpenFile, rid, p.ComeBackParams, map[string]string{
			"mainFile": "/cloud/bracket/bracket.asm", "openType": "OpenOnly", "workState": "CHECKIN", "assembly": "true"})
	case protocol.MethodSelectSaveAsPath:
		var p protocol.SaveAsParams
		_ = json.Unmarshal(m.Params, &p)
		if p.FileName == "" {
			cn.fail(m.ID, protocol.CodeInvalidParams, "fileName: empty")
			return
		}
		rid := a.accepted(cn, m)
		params := map[string]string{"savePath": "/cloud/" + p.FileName, "name": p.FileName, "fileName": p.FileName, "assembly": fmt.Sprint(p.Assembly)}
		switch {
		case p.FileName == "cancel.prt":
			params = map[string]string{"status": protocol.StatusFailed, protocol.ReasonKey: "the user cancelled", protocol.KindKey: "canceled"}
		case p.FileName == "hostile.prt": // an agent naming a path that is not the file
			params["savePath"] = "/etc/passwd"
		case p.Assembly:
			name := strings.TrimSuffix(p.FileName, filepath.Ext(p.FileName))
			params["savePath"], params["name"] = "/cloud/"+name+"/"+p.FileName, name
		}
		cn.emit(protocol.EventSaveAsPath, rid, p.ComeBackParams, params)
	case protocol.MethodSave:
		var p protocol.SaveParams
		_ = json.Unmarshal(m.Params, &p)
		if strings.Contains(p.Path, "refuse") {
			cn.fail(m.ID, protocol.CodeRefused, "no valid license")
			return
		}
		rid := a.accepted(cn, m)
		asm := fmt.Sprint(p.Assembly)
		cn.emit(protocol.EventUploadStart, rid, p.ComeBackParams, map[string]string{"path": p.Path, "assembly": asm})
		if strings.Contains(p.Path, "fail") {
			cn.emit(protocol.EventUploadEnd, rid, p.ComeBackParams, map[string]string{"path": p.Path, "status": protocol.StatusFailed})
			cn.emit(protocol.EventSaveResult, rid, p.ComeBackParams, map[string]string{"status": protocol.StatusFailed, protocol.ReasonKey: "disk full"})
			return
		}
		cn.emit(protocol.EventUploadEnd, rid, p.ComeBackParams, map[string]string{"path": p.Path, "status": protocol.StatusSuccess})
		cn.emit(protocol.EventSaveResult, rid, p.ComeBackParams, map[string]string{"status": protocol.StatusSuccess, "name": filepath.Base(p.Path)})
	case protocol.MethodGetSolution:
		var p protocol.SolutionParams
		_ = json.Unmarshal(m.Params, &p)
		rid := a.accepted(cn, m)
		cn.emit(protocol.EventSolutionResult, rid, p.ComeBackParams, map[string]string{"status": protocol.StatusSuccess, "resultPath": "/results/1", "exitCode": "0"})
	default:
		cn.fail(m.ID, protocol.CodeMethodNotFound, "unknown method "+m.Method)
	}
}

// acceptOnly is an override that accepts a call and never answers with an
// event: a long operation.
func acceptOnly(a *fakeAgent, cn *agentConn, m protocol.Message) { a.accepted(cn, m) }
