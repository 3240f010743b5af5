package capi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
)

// The codes and event types here are the ones iscdesk.h defines.
func TestHeaderCodes(t *testing.T) {
	b, err := os.ReadFile("../include/iscdesk.h")
	if err != nil {
		t.Fatal(err)
	}
	defs := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^#define (ISCDESK_(?:OK|E_[A-Z_]+|EVENT_[A-Z_]+))\s+(-?\d+)`).FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[2])
		defs[m[1]] = n
	}
	codes := map[string]Code{
		"ISCDESK_OK": OK, "ISCDESK_E_INVALID": EInvalid, "ISCDESK_E_NOT_CONNECTED": ENotConnected,
		"ISCDESK_E_DISCONNECTED": EDisconnected, "ISCDESK_E_REFUSED": ERefused, "ISCDESK_E_FAILED": EFailed,
		"ISCDESK_E_TIMEOUT": ETimeout, "ISCDESK_E_IN_CALLBACK": EInCallback, "ISCDESK_E_NOT_PRIVATE": ENotPrivate,
		"ISCDESK_E_PROTOCOL": EProtocol, "ISCDESK_E_LICENSE_MALFORMED": ELicenseMalformed,
		"ISCDESK_E_LICENSE_SIGNATURE": ELicenseSignature, "ISCDESK_E_LICENSE_EXPIRED": ELicenseExpired,
		"ISCDESK_E_LICENSE_NOT_YET_VALID": ELicenseNotYetValid, "ISCDESK_E_LICENSE_WRONG_DEVICE": ELicenseWrongDevice,
		"ISCDESK_E_NOT_FOUND": ENotFound, "ISCDESK_E_INTERNAL": EInternal,
	}
	events := map[string]string{
		"ISCDESK_EVENT_LICENSE_VERIFY": protocol.EventLicenseVerify, "ISCDESK_EVENT_UPGRADE_NOTICE": protocol.EventUpgradeNotice,
		"ISCDESK_EVENT_UPDATE": protocol.EventUpdate, "ISCDESK_EVENT_OPEN_FILE": protocol.EventOpenFile,
		"ISCDESK_EVENT_UPLOAD_START": protocol.EventUploadStart, "ISCDESK_EVENT_UPLOAD_END": protocol.EventUploadEnd,
		"ISCDESK_EVENT_SAVE_RESULT": protocol.EventSaveResult, "ISCDESK_EVENT_SOLUTION_RESULT": protocol.EventSolutionResult,
		"ISCDESK_EVENT_LICENSE_QUEUED": protocol.EventLicenseQueued,
		"ISCDESK_EVENT_SAVE_AS_PATH":   protocol.EventSaveAsPath,
		"ISCDESK_EVENT_OTHER":          "SomethingNew",
	}
	if len(defs) != len(codes)+len(events) {
		t.Errorf("iscdesk.h defines %d codes and event types, this package %d", len(defs), len(codes)+len(events))
	}
	for name, c := range codes {
		if v, ok := defs[name]; !ok || v != int(c) {
			t.Errorf("%s: header %d (defined %v), capi %d", name, v, ok, c)
		}
	}
	for name, op := range events {
		if v, ok := defs[name]; !ok || v != EventType(op) {
			t.Errorf("%s: header %d (defined %v), EventType(%q) = %d", name, v, ok, op, EventType(op))
		}
	}
}

func TestCodeOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want Code
	}{
		{nil, OK},
		{ErrInCallback, EInCallback},
		{fmt.Errorf("sdk: save: %w", sdk.ErrDisconnected), EDisconnected},
		{fmt.Errorf("x: %w: %w", sdk.ErrRefused, &protocol.RPCError{Code: protocol.CodeRefused}), ERefused},
		{&sdk.OperationError{}, EFailed},
		{fmt.Errorf("sdk: save: %w", context.DeadlineExceeded), ETimeout},
		{sdk.ErrClosed, ENotConnected},
		{sdk.ErrNotPrivate, ENotPrivate},
		{sdk.ErrProtocol, EProtocol},
		{&protocol.RPCError{Code: protocol.CodeInvalidParams, Message: "path must be absolute"}, EInvalid},
		{&protocol.RPCError{Code: protocol.CodeMethodNotFound}, ERefused},
		{fmt.Errorf("%w: x", sdk.ErrLicenseWrongDevice), ELicenseWrongDevice},
		{sdk.ErrLicenseExpired, ELicenseExpired},
		{sdk.ErrLicenseNotYetValid, ELicenseNotYetValid},
		{sdk.ErrLicenseSignature, ELicenseSignature},
		{sdk.ErrLicenseMalformed, ELicenseMalformed},
		{errors.New("something else"), EInternal},
	} {
		if got := CodeOf(c.err); got != c.want {
			t.Errorf("CodeOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestEventJSON(t *testing.T) {
	got := EventJSON(protocol.Event{Operate: "UpgradeNotice", Params: map[string]string{"available": "false"}})
	if want := `{"operate":"UpgradeNotice","params":{"available":"false"},"comeBackParams":{}}`; got != want {
		t.Errorf("EventJSON = %s, want %s", got, want)
	}
}

func TestEventParam(t *testing.T) {
	ev := `{"operate":"SaveResult","params":{"status":"failed","reason":"äö \"x\""},"comeBackParams":{"requestId":"r1"}}`
	for _, c := range []struct {
		json, key, want string
		code            Code
	}{
		{ev, "status", "failed", OK},
		{ev, "reason", `äö "x"`, OK},
		{ev, "operate", "SaveResult", OK},
		{ev, "comeBackParams.requestId", "r1", OK},
		{ev, "missing", "", ENotFound},
		{ev, "comeBackParams.missing", "", ENotFound},
		{`{"params":{"status":"x"}}`, "status", "", EInvalid},
		{`{"operate":"X","params":{"n":1}}`, "n", "", EInvalid},
		{`{"operate":"X"} {"operate":"Y"}`, "operate", "", EInvalid},
		{`not json`, "operate", "", EInvalid},
		{``, "operate", "", EInvalid},
	} {
		got, err := EventParam(c.json, c.key)
		if got != c.want || CodeOf(err) != c.code {
			t.Errorf("EventParam(%s, %q) = %q, %v; want %q, code %d", c.json, c.key, got, err, c.want, c.code)
		}
	}
}

// EventParam parses what a program hands it: any input gives a value or an
// error, never a panic, and a value only for an event's JSON.
func FuzzEventParam(f *testing.F) {
	f.Add(`{"operate":"SaveResult","params":{"status":"failed"},"comeBackParams":{"requestId":"r1"}}`, "status")
	f.Add(`{"operate":"X","params":null}`, "comeBackParams.requestId")
	f.Add(`{"operate":"X"}`, "operate")
	f.Add(`[1,2]`, "")
	f.Fuzz(func(t *testing.T, eventJSON, key string) {
		v, err := EventParam(eventJSON, key)
		if err != nil {
			if v != "" || (CodeOf(err) != EInvalid && CodeOf(err) != ENotFound) {
				t.Fatalf("EventParam error %v with value %q, code %d", err, v, CodeOf(err))
			}
			return
		}
		if key == "operate" && v == "" {
			t.Fatal("an empty operate was accepted")
		}
	})
}

func TestRegistry(t *testing.T) {
	var r Registry
	h1, h2 := NewHandle("", "", ""), NewHandle("", "", "")
	id1, id2 := r.Add(h1), r.Add(h2)
	if id1 == 0 || id1 == id2 || r.Get(id1) != h1 || r.Get(id2) != h2 {
		t.Fatalf("ids %d %d", id1, id2)
	}
	r.Remove(id1)
	if r.Get(id1) != nil || r.Get(0) != nil || r.Get(id2) != h2 {
		t.Fatal("a removed or unknown id still names a handle")
	}
}

// The last error is per thread (like errno) and bounded.
func TestLastErrorPerThread(t *testing.T) {
	h := NewHandle("", "", "")
	var wg sync.WaitGroup
	for i := range 2 * maxThreadErrors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.SetErr(uintptr(i+1), fmt.Errorf("error of thread %d", i+1))
		}()
	}
	wg.Wait()
	h.SetErr(1, errors.New("again"))
	if got := h.LastError(1); got != "again" {
		t.Errorf("thread 1: %q", got)
	}
	if got := h.LastError(2*maxThreadErrors + 5); got != "" {
		t.Errorf("a thread without errors: %q", got)
	}
	if len(h.errs) > maxThreadErrors {
		t.Errorf("%d threads' errors kept", len(h.errs))
	}
	if c := h.SetErr(3, nil); c != OK {
		t.Errorf("SetErr(nil) = %d", c)
	}
}

// A handle that is not connected says so; Init fails when nobody listens
// and leaves the handle usable; ShutOut with nothing connected is fine.
func TestHandleWithoutAgent(t *testing.T) {
	dir := t.TempDir() + "/private"
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	h := NewHandle("app", "1.0", dir+"/nobody.sock")
	if _, err := h.SaveRequest("/x", false); CodeOf(err) != ENotConnected {
		t.Errorf("save before init: %v", err)
	}
	if _, err := h.Save(time.Second, "/x", false); CodeOf(err) != ENotConnected {
		t.Errorf("waiting save before init: %v", err)
	}
	err := h.Init(2 * time.Second)
	if c := CodeOf(err); c != EDisconnected {
		t.Errorf("init without an agent: %v (code %d)", err, c)
	}
	h.SetCallback(func(int, string) {})
	h.ShutOut()
	if err := h.Init(time.Second); CodeOf(err) != EInvalid {
		t.Errorf("init after shut out: %v", err)
	}
}

func TestVerifyDeviceLicenseBadInput(t *testing.T) {
	if _, err := VerifyDeviceLicense("x.y.z", "not base64!", "a|b|c|d", time.Now()); CodeOf(err) != EInvalid {
		t.Errorf("a bad key: %v", err)
	}
	key := "MCowBQYDK2VwAyEA" // not a key either: too short
	if _, err := VerifyDeviceLicense("x.y.z", key, "a|b|c|d", time.Now()); CodeOf(err) != EInvalid {
		t.Errorf("a short key: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	if s := Fingerprint(0); len(s) < 3 {
		t.Errorf("Fingerprint() = %q", s)
	}
}

// A waiting call returns once the callback has been given its final event:
// at once when it was already, when it arrives, and after DeliveryWait at
// most; never waiting from inside the callback.
func TestFinalsWait(t *testing.T) {
	var f finals
	save := protocol.Event{Operate: protocol.EventSaveResult, ComeBackParams: map[string]string{protocol.RequestIDKey: "r1"}}
	other := protocol.Event{Operate: protocol.EventSaveResult, ComeBackParams: map[string]string{protocol.RequestIDKey: "r2"}}
	go func() {
		time.Sleep(20 * time.Millisecond)
		f.add(other)
		time.Sleep(20 * time.Millisecond)
		f.add(save)
	}()
	start := time.Now()
	if !f.wait(sameRequest(save), 10*time.Second) || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("wait returned %v after the start, before its event", time.Since(start))
	}
	if !f.wait(sameRequest(save), time.Nanosecond) {
		t.Fatal("an event already delivered is not found")
	}
	if f.wait(sameRequest(protocol.Event{Operate: "SaveResult"}), 30*time.Millisecond) {
		t.Fatal("an event never delivered was found")
	}
	for range 2 * maxFinals {
		f.add(other)
	}
	if len(f.events) > maxFinals {
		t.Fatalf("%d final events kept", len(f.events))
	}
	h := NewHandle("", "", "")
	h.InCallback = func() bool { return true }
	start = time.Now()
	h.delivered(sameRequest(save))
	if time.Since(start) > DeliveryWait/2 {
		t.Fatal("a waiting call inside the callback waited for the callback")
	}
	h.InCallback = nil
	go func() { time.Sleep(20 * time.Millisecond); h.ShutOut() }()
	start = time.Now()
	h.delivered(sameRequest(save))
	if time.Since(start) > DeliveryWait/2 {
		t.Fatal("ShutOut did not end the wait")
	}
}
