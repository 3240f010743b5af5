//go:build !darwin || cgo

package ui

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/agent/activity"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
)

// The fakes of the ui interfaces: in-memory, with the answers a test sets.

// testNow is the fixed clock of the screen tests.
var testNow = time.Date(2025, 6, 2, 9, 30, 0, 0, time.UTC)

var testComponents = devinfo.Components{
	MAC: []string{"02:FC:00:00:00:01"}, Disk: []string{"S4EWNX0R123456"}, Board: "BSN12345678", CPU: "178BFBFF00A10F11",
}

// testRecord is an authorization activated on 2025-05-01 for this machine.
func testRecord() licensing.Record {
	return licensing.Record{
		Version: licensing.RecordVersion, License: "PL2025DEMO-0001", Status: licensing.StatusAlive,
		ExpireTime: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), ProductID: "OFFI-CAD-PRO", OrderID: "CS2505011234ABCD",
		ActivatedAt: time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC), LastCheckedAt: testNow.Add(-time.Minute),
		Fingerprint: devinfo.Render(testComponents).String(), Components: testComponents, MaxSeen: testNow,
	}
}

func validState() licensing.State {
	return licensing.State{Record: testRecord(), Source: licensing.SourceOnline, Storage: "keyring",
		Verdict: licensing.Verdict{Changed: []string{}, GraceLeft: 7 * 24 * time.Hour}}
}

func errKind(op string, k errs.Kind, msg string) error {
	return errs.E(op, k, errors.New(msg))
}

var errNothingCached = errKind("store.load", errs.NotActivated, "no authorization is cached on this machine")

type fakeLicenses struct {
	mu       sync.Mutex
	state    licensing.State
	err      error
	actState licensing.State
	actErr   error
	gate     chan struct{} // when set, Activate waits for it
	codes    []string
	onlines  []bool
	forgot   int
}

func (f *fakeLicenses) Activate(ctx context.Context, code string) (licensing.State, error) {
	f.mu.Lock()
	gate := f.gate
	f.codes = append(f.codes, code)
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return licensing.State{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.actErr == nil {
		f.state, f.err = f.actState, nil
	}
	return f.actState, f.actErr
}

func (f *fakeLicenses) Status(_ context.Context, online bool) (licensing.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onlines = append(f.onlines, online)
	return f.state, f.err
}

func (f *fakeLicenses) Forget(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgot++
	f.state, f.err = licensing.State{Storage: "keyring"}, errNothingCached
	return nil
}

func (f *fakeLicenses) set(st licensing.State, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state, f.err = st, err
}

type fakeDevice struct{ fp devinfo.Fingerprint }

func (f fakeDevice) Fingerprint(context.Context) devinfo.Fingerprint { return f.fp }

func testFingerprint(c devinfo.Components) devinfo.Fingerprint {
	fp := devinfo.Render(c)
	fp.Sources = map[devinfo.Part]string{
		devinfo.PartMAC: "sysfs permanent address", devinfo.PartDisk: "sysfs serial",
		devinfo.PartBoard: "DMI board_serial", devinfo.PartCPU: "CPUID leaf 1",
	}
	return fp
}

type fakeSettings struct {
	mu    sync.Mutex
	cfg   config.Config
	saved []config.Config
}

func (f *fakeSettings) Load() (config.Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg, nil
}

func (f *fakeSettings) Save(c config.Config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.saved = append(f.saved, c)
	return nil
}

// fakeActivity is an agent.Activity stand-in whose entries a test sets.
type fakeActivity struct {
	mu      sync.Mutex
	entries []activity.Entry
	subs    []func(activity.Entry)
}

func (f *fakeActivity) Entries() []activity.Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]activity.Entry(nil), f.entries...)
}

func (f *fakeActivity) Subscribe(fn func(activity.Entry)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, fn)
}

// add puts e first (newest first) and tells the subscribers.
func (f *fakeActivity) add(e activity.Entry) {
	f.mu.Lock()
	f.entries = append([]activity.Entry{e}, f.entries...)
	subs := f.subs
	f.mu.Unlock()
	for _, fn := range subs {
		fn(e)
	}
}

type fakeCloud struct{ files []clouddrive.File }

func (f fakeCloud) List(context.Context) ([]clouddrive.File, error) { return f.files, nil }
