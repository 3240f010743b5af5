//go:build !darwin || cgo

package ui

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/iscdesk/iscdesk/agent/activity"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/assets"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/protocol"
)

var update = flag.Bool("update", false, "rewrite the golden markup files under testdata/")

// The screen tests render the window to fyne's markup and compare it with
// testdata/*.xml; go test ./ui -update rewrites them (review the diff).

func TestMain(m *testing.M) {
	flag.Parse()
	// The goldens are in English whatever the machine's locale.
	if err := ApplyLanguage("en"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// testApp is the test app that also records notifications and, with tray
// set, acts as a desktop app with a system tray.
type testApp struct {
	fyne.App
	sent []*fyne.Notification
	icon fyne.Resource
}

func (a *testApp) Icon() fyne.Resource     { return a.icon }
func (a *testApp) SetIcon(r fyne.Resource) { a.icon = r }

func (a *testApp) SendNotification(n *fyne.Notification) { a.sent = append(a.sent, n) }

type trayApp struct {
	*testApp
	menu   *fyne.Menu
	icon   fyne.Resource
	window fyne.Window
}

func (a *trayApp) SetSystemTrayMenu(m *fyne.Menu)    { a.menu = m }
func (a *trayApp) SetSystemTrayIcon(r fyne.Resource) { a.icon = r }
func (a *trayApp) SetSystemTrayWindow(w fyne.Window) { a.window = w }

type harness struct {
	t   *testing.T
	app *testApp
	win fyne.Window
	ui  *UI
	lic *fakeLicenses
}

// newHarness opens the window on the fakes; deps may adjust the Deps.
func newHarness(t *testing.T, lic *fakeLicenses, adjust ...func(*Deps)) *harness {
	t.Helper()
	a := &testApp{App: test.NewTempApp(t)}
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.SmallIcon))
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(900, 640))
	deps := Deps{
		Licenses: lic,
		Device:   fakeDevice{fp: testFingerprint(testComponents)},
		Settings: &fakeSettings{}, Activity: &fakeActivity{},
		Version: "0.1.0-test", Now: func() time.Time { return testNow }, Location: time.UTC,
	}
	for _, f := range adjust {
		f(&deps)
	}
	h := &harness{t: t, app: a, win: w, lic: lic}
	h.ui = New(a, w, deps)
	t.Cleanup(func() { h.ui.Close(); h.ui.idle() })
	h.ui.Start()
	h.ui.idle()
	return h
}

func (h *harness) golden(name string) {
	h.t.Helper()
	h.ui.idle()
	h.goldenNow(name)
}

// goldenNow compares the window as it is, with calls still running.
func (h *harness) goldenNow(name string) {
	h.t.Helper()
	c := h.win.Canvas()
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", name), []byte(test.RenderToMarkup(c)), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	test.AssertRendersToMarkup(h.t, name, c)
}

func (h *harness) typeCode(code string) {
	h.ui.activation.code.SetText("")
	test.Type(h.ui.activation.code, code)
}

func stateWith(verdictErr error) licensing.State {
	st := validState()
	st.Verdict.Err = verdictErr
	return st
}

func TestFresh(t *testing.T) {
	lic := &fakeLicenses{err: errNothingCached}
	h := newHarness(t, lic)
	if h.ui.license.phase != phaseNone || h.ui.licenseTab.Content != h.ui.activation.content {
		t.Fatalf("phase %v: want the activation screen", h.ui.license.phase)
	}
	if len(lic.onlines) != 1 || lic.onlines[0] {
		t.Errorf("status calls %v: want one offline check and no online one when nothing is cached", lic.onlines)
	}
	if !h.ui.activation.activate.Disabled() {
		t.Error("Activate enabled with an empty code")
	}
	h.golden("activation_fresh.xml")
}

func TestCodeValidatedAsYouType(t *testing.T) {
	h := newHarness(t, &fakeLicenses{err: errNothingCached})
	a := h.ui.activation
	for _, tc := range []struct {
		code string
		ok   bool
	}{
		{"PL2025DEMO-0001", true},
		{"PL2025 DEMO", false},
		{"PL2025DEMO_0001", true},
		{"PL2025/0001", false},
		{string(make([]byte, licensing.MaxCodeLen+1)), false},
	} {
		h.typeCode(tc.code)
		if a.activate.Disabled() == tc.ok {
			t.Errorf("%q: Activate enabled = %v, want %v", tc.code, !a.activate.Disabled(), tc.ok)
		}
	}
	h.typeCode("PL2025/0001")
	h.golden("activation_bad_format.xml")
	test.Tap(a.activate)
	if len(h.lic.codes) != 0 {
		t.Error("a malformed code reached the license server")
	}
}

func TestActivating(t *testing.T) {
	gate := make(chan struct{})
	lic := &fakeLicenses{err: errNothingCached, actState: validState(), gate: gate}
	h := newHarness(t, lic)
	h.typeCode("  PL2025DEMO-0001 ")
	test.Tap(h.ui.activation.activate)
	// The call runs in the background: the window shows progress and
	// refuses a second submission meanwhile.
	if !h.ui.activation.running || !h.ui.activation.activate.Disabled() || !h.ui.activation.code.Disabled() {
		t.Fatal("the form is not busy while activating")
	}
	h.ui.activation.busy.spinner.Stop() // a still spinner renders the same markup every time
	h.goldenNow("activation_activating.xml")
	close(gate)
	h.ui.idle()
	if len(lic.codes) != 1 || lic.codes[0] != "PL2025DEMO-0001" {
		t.Errorf("activated %q, want the trimmed code once", lic.codes)
	}
	if h.ui.license.phase != phaseValid || h.ui.licenseTab.Content != h.ui.status.content {
		t.Fatalf("after activation: phase %v, want the status screen", h.ui.license.phase)
	}
}

func TestWrongCode(t *testing.T) {
	lic := &fakeLicenses{err: errNothingCached,
		actErr: &errs.Error{Op: "activate", Kind: errs.NotFound, Code: "92020005"}}
	h := newHarness(t, lic)
	h.typeCode("PL2025DEMO-9999")
	test.Tap(h.ui.activation.activate)
	h.ui.idle()
	p := h.ui.activation.problem
	if !p.box.Visible() || p.retry.Visible() || p.title.Text != tr("kind.not_found.title") {
		t.Fatalf("problem shown %v, retry %v, title %q", p.box.Visible(), p.retry.Visible(), p.title.Text)
	}
	h.golden("activation_wrong_code.xml")
}

func TestNetworkDownOffersRetry(t *testing.T) {
	lic := &fakeLicenses{err: errNothingCached, actErr: errKind("activate", errs.Unavailable, "dial tcp: connection refused")}
	h := newHarness(t, lic)
	h.typeCode("PL2025DEMO-0001")
	test.Tap(h.ui.activation.activate)
	h.ui.idle()
	p := h.ui.activation.problem
	if !p.retry.Visible() || p.title.Text != tr("kind.unavailable.title") {
		t.Fatalf("retry %v, title %q", p.retry.Visible(), p.title.Text)
	}
	h.golden("activation_network_down.xml")
	lic.mu.Lock()
	lic.actErr, lic.actState = nil, validState()
	lic.mu.Unlock()
	test.Tap(p.retry)
	h.ui.idle()
	if len(lic.codes) != 2 || h.ui.license.phase != phaseValid {
		t.Fatalf("retry: %d calls, phase %v", len(lic.codes), h.ui.license.phase)
	}
}

func TestStatusScreens(t *testing.T) {
	grace := validState()
	grace.Source = licensing.SourceCache
	grace.OnlineErr = errKind("query", errs.Unavailable, "dial tcp 192.0.2.1:443: i/o timeout")
	grace.Verdict.GraceLeft = 5*24*time.Hour + time.Hour
	grace.Record.LastCheckedAt = testNow.Add(-2 * 24 * time.Hour)

	expired := stateWith(errKind("validate", errs.Expired, "the license expired on 2025-05-31"))
	expired.Record.Status = licensing.StatusExpired
	expired.Record.ExpireTime = time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC)

	other := stateWith(errKind("validate", errs.WrongMachine, "the authorization is bound to another machine (changed: [disk board])"))
	other.Verdict.Changed = []string{"disk", "board"}
	other.Storage = "file"

	for _, tc := range []struct {
		name   string
		state  licensing.State
		err    error
		phase  phase
		golden string
	}{
		{"valid", validState(), nil, phaseValid, "status_valid.xml"},
		{"grace", grace, nil, phaseGrace, "status_grace.xml"},
		{"expired", expired, nil, phaseInvalid, "status_expired.xml"},
		{"another machine", other, nil, phaseInvalid, "status_another_machine.xml"},
		{"storage failed", licensing.State{Storage: "keyring"}, errKind("store.load", errs.Storage, "the keyring did not answer within 10s"), phaseError, "status_storage_failed.xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, &fakeLicenses{state: tc.state, err: tc.err})
			if h.ui.license.phase != tc.phase {
				t.Fatalf("phase %v, want %v", h.ui.license.phase, tc.phase)
			}
			h.golden(tc.golden)
		})
	}
}

func TestOnlineCheckOncePerDay(t *testing.T) {
	st := validState()
	st.Record.LastCheckedAt = testNow.Add(-25 * time.Hour)
	st.Source = licensing.SourceCache
	lic := &fakeLicenses{state: st}
	newHarness(t, lic)
	if fmt.Sprint(lic.onlines) != "[false true]" {
		t.Errorf("status calls %v: want the offline answer first, then the day's online check", lic.onlines)
	}
	lic = &fakeLicenses{state: validState()} // checked a minute ago
	newHarness(t, lic)
	if fmt.Sprint(lic.onlines) != "[false]" {
		t.Errorf("status calls %v: no second online check on the same day", lic.onlines)
	}
}

func TestRecheckNow(t *testing.T) {
	lic := &fakeLicenses{state: validState()}
	h := newHarness(t, lic)
	lic.set(stateWith(errKind("query", errs.Released, "the license was released (refunded)")), nil)
	test.Tap(h.ui.status.recheck)
	h.ui.idle()
	if got := lic.onlines[len(lic.onlines)-1]; !got || h.ui.license.phase != phaseInvalid {
		t.Fatalf("re-check online %v, phase %v", got, h.ui.license.phase)
	}
	if n := h.app.sent; len(n) != 1 || n[0].Title != tr("notify.invalid.title") {
		t.Errorf("notifications %v: want one saying the license stopped working", n)
	}
	if !h.ui.status.another.Visible() {
		t.Error("no way to activate another code from an unusable license")
	}
}

func TestRemoveAuthorization(t *testing.T) {
	lic := &fakeLicenses{state: validState()}
	h := newHarness(t, lic)
	test.Tap(h.ui.status.remove)
	if h.ui.status.confirm == nil {
		t.Fatal("no confirmation asked")
	}
	h.golden("status_remove_confirm.xml")
	h.ui.status.confirm.Dismiss()
	h.ui.idle()
	if lic.forgot != 0 {
		t.Fatal("removed although the user cancelled")
	}
	test.Tap(h.ui.status.remove)
	h.ui.status.confirm.Confirm()
	h.ui.idle()
	if lic.forgot != 1 || h.ui.licenseTab.Content != h.ui.activation.content {
		t.Fatalf("forgot %d times, activation screen shown %v", lic.forgot, h.ui.licenseTab.Content == h.ui.activation.content)
	}
}

func TestActivateAnotherCode(t *testing.T) {
	expired := stateWith(errKind("validate", errs.Expired, "the license expired on 2025-05-31"))
	lic := &fakeLicenses{state: expired, actState: validState()}
	h := newHarness(t, lic)
	test.Tap(h.ui.status.another)
	if h.ui.licenseTab.Content != h.ui.activation.content || !h.ui.activation.back.Visible() {
		t.Fatal("Activate another code does not show the activation screen with a way back")
	}
	test.Tap(h.ui.activation.back)
	if h.ui.licenseTab.Content != h.ui.status.content {
		t.Fatal("Back does not return to the status")
	}
	test.Tap(h.ui.status.another)
	h.typeCode("PL2025DEMO-0002")
	test.Tap(h.ui.activation.activate)
	h.ui.idle()
	if h.ui.license.phase != phaseValid || h.ui.licenseTab.Content != h.ui.status.content {
		t.Fatalf("phase %v after activating another code", h.ui.license.phase)
	}
}

func TestExpiryNotification(t *testing.T) {
	st := validState()
	st.Record.ExpireTime = testNow.Add(10*24*time.Hour - time.Hour)
	lic := &fakeLicenses{state: st}
	h := newHarness(t, lic)
	if len(h.app.sent) != 1 || h.app.sent[0].Title != tr("notify.expiring.title") {
		t.Fatalf("notifications %v: want the expiry warning", h.app.sent)
	}
	want := "The license PL2025DEMO-0001 expires on 2025-06-12, in 10 days. Renew it on the marketplace."
	if h.app.sent[0].Content != want {
		t.Errorf("content %q\nwant    %q", h.app.sent[0].Content, want)
	}
	h.ui.refresh(true, false)
	h.ui.idle()
	if len(h.app.sent) != 1 {
		t.Errorf("the warning was sent again on a re-check: %d notifications", len(h.app.sent))
	}
	h.golden("status_expiring.xml")
}

func TestDevice(t *testing.T) {
	changed := testComponents
	changed.Disk = []string{"WD-NEWDISK-0042"}
	h := newHarness(t, &fakeLicenses{state: validState()}, func(d *Deps) {
		d.Device = fakeDevice{fp: testFingerprint(changed)}
	})
	h.ui.tabs.SelectIndex(1)
	h.ui.idle()
	want := devinfo.Render(changed).String()
	if h.ui.device.fp.Text != want {
		t.Fatalf("fingerprint shown %q, want %q", h.ui.device.fp.Text, want)
	}
	test.Tap(h.ui.device.copyBtn)
	if got := h.app.Clipboard().Content(); got != want {
		t.Errorf("clipboard %q, want the fingerprint", got)
	}
	h.golden("device.xml")
}

func TestActivity(t *testing.T) {
	act := &fakeActivity{}
	t0 := testNow.Add(-10 * time.Minute)
	act.entries = []activity.Entry{
		{ID: "3", Time: t0.Add(3 * time.Minute), App: "OffiCAD", Call: protocol.MethodSave, Detail: "/home/ana/models/pump.ocd", Status: "running", Done: 3 << 20, Total: 8 << 20},
		{ID: "2", Time: t0.Add(2 * time.Minute), App: "OffiCAD", Call: protocol.MethodGetSolution, Detail: "/home/ana/models/pump.ocd", Status: protocol.StatusFailed, Err: "no solver is configured: ask your administrator", Finished: t0.Add(2 * time.Minute)},
		{ID: "1", Time: t0, App: "OffiCAD", Call: protocol.MethodGetLicenseString, Detail: "02:FC:00:00:00:01|S4EWNX0R123456||178BFBFF00A10F11", Status: protocol.StatusSuccess, Finished: t0.Add(120 * time.Millisecond)},
	}
	h := newHarness(t, &fakeLicenses{state: validState()}, func(d *Deps) { d.Activity = act })
	h.ui.tabs.SelectIndex(2)
	h.golden("activity.xml")

	act.add(activity.Entry{ID: "4", Time: testNow, App: "OffiCAD", Call: protocol.MethodCheckNewVersions, Status: "running"})
	h.ui.idle()
	if n := len(h.ui.activity.entries); n != 4 || h.ui.activity.entries[0].ID != "4" {
		t.Fatalf("after a new call: %d entries, first %q", n, h.ui.activity.entries[0].ID)
	}
}

func TestActivityEmpty(t *testing.T) {
	h := newHarness(t, &fakeLicenses{state: validState()})
	h.ui.tabs.SelectIndex(2)
	h.golden("activity_empty.xml")
}

func TestSettings(t *testing.T) {
	settings := &fakeSettings{cfg: config.Config{
		Server: "https://license.example.com", GraceDays: 14, CloudDir: "/srv/cloud",
		Locked: map[string]bool{"server": true, "grace_days": true},
	}}
	h := newHarness(t, &fakeLicenses{state: validState()}, func(d *Deps) { d.Settings = settings })
	h.ui.tabs.SelectIndex(3)
	h.ui.idle()
	s := h.ui.settings
	if !s.server.Disabled() || !s.grace.Disabled() || s.proxy.Disabled() || s.server.Text != "https://license.example.com" {
		t.Fatal("machine-wide settings are editable, or the user's are not")
	}
	h.golden("settings.xml")

	s.proxy.SetText("http://proxy.example:3128")
	s.solver.SetText("/opt/solver/bin/solve\n--in\n{input}\n--out\n{output}\n")
	test.Tap(s.save)
	h.ui.idle()
	if len(settings.saved) != 1 {
		t.Fatalf("saved %d times", len(settings.saved))
	}
	got := settings.saved[0]
	if got.Proxy != "http://proxy.example:3128" || len(got.SolverCommand) != 5 || got.SolverCommand[2] != "{input}" || got.Language != "" {
		t.Errorf("saved %+v", got)
	}

	s.proxy.SetText("ftp://nope")
	test.Tap(s.save)
	h.ui.idle()
	if len(settings.saved) != 1 || !s.problem.box.Visible() {
		t.Error("an invalid proxy was saved without a word")
	}
	s.proxy.SetText("")

	// Where the administrator did not fix it, the user sets the server;
	// plain http only to this machine.
	settings.cfg.Locked = map[string]bool{}
	h2 := newHarness(t, &fakeLicenses{state: validState()}, func(d *Deps) { d.Settings = settings })
	h2.ui.tabs.SelectIndex(3)
	h2.ui.idle()
	s = h2.ui.settings
	if s.server.Disabled() {
		t.Fatal("the server is locked without a machine-wide setting")
	}
	s.server.SetText("http://license.example.com")
	test.Tap(s.save)
	h2.ui.idle()
	if len(settings.saved) != 1 || !s.problem.box.Visible() {
		t.Error("a plain-http server elsewhere than this machine was saved without a word")
	}
	s.server.SetText(" https://licenses.vendor.example ")
	test.Tap(s.save)
	h2.ui.idle()
	if len(settings.saved) != 2 || settings.saved[1].Server != "https://licenses.vendor.example" {
		t.Errorf("saved %+v", settings.saved)
	}
}

// TestChinese checks the window's words rather than a golden: the layout of
// Chinese text depends on the CJK fonts installed (fyne falls back to the
// system's), so markup would differ between machines.
func TestChinese(t *testing.T) {
	if err := ApplyLanguage("zh"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ApplyLanguage("en") })
	h := newHarness(t, &fakeLicenses{state: validState()})
	s := h.ui.status
	for got, want := range map[string]string{
		h.ui.tabs.Items[0].Text: "许可证",
		h.ui.tabs.Items[3].Text: "设置",
		s.headline.Text:         "已授权",
		s.summary.Text:          "本机已授权，还可使用 333 天。",
		s.expires.Text:          "2026-05-01（剩余 333 天）",
		s.recheck.Text:          "立即检查",
		h.ui.stateChip.Text:     "已授权",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	p := explain(errKind("activate", errs.WrongMachine, ""))
	if p.Title != "该授权属于另一台计算机。" {
		t.Errorf("kind message %q", p.Title)
	}
}

func TestSwitchLanguage(t *testing.T) {
	t.Cleanup(func() { _ = ApplyLanguage("en") })
	settings := &fakeSettings{}
	var switched []string
	h := newHarness(t, &fakeLicenses{state: validState()}, func(d *Deps) {
		d.Settings = settings
		d.OnLanguage = func(code string) { switched = append(switched, code) }
	})
	h.ui.tabs.SelectIndex(3)
	h.ui.idle()
	h.ui.settings.language.SetSelectedIndex(languageIndex("zh"))
	test.Tap(h.ui.settings.save)
	h.ui.idle()
	if len(settings.saved) != 1 || settings.saved[0].Language != "zh" || fmt.Sprint(switched) != "[zh]" {
		t.Fatalf("saved %+v, switched %v", settings.saved, switched)
	}
	if h.ui.tabs.SelectedIndex() != 3 || h.ui.tabs.Items[0].Text != "许可证" || h.ui.status.headline.Text != "已授权" {
		t.Errorf("after switching: tab %d, first tab %q, headline %q", h.ui.tabs.SelectedIndex(), h.ui.tabs.Items[0].Text, h.ui.status.headline.Text)
	}
}

func TestTray(t *testing.T) {
	a := &trayApp{testApp: &testApp{App: test.NewTempApp(t)}}
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.SmallIcon))
	w := test.NewTempWindow(t, nil)
	lic := &fakeLicenses{state: validState()}
	u := New(a, w, Deps{Licenses: lic, HasTray: true, Now: func() time.Time { return testNow }, Location: time.UTC})
	t.Cleanup(u.Close)
	u.Start()
	u.idle()
	if a.window != w || a.menu == nil || a.icon == nil {
		t.Fatalf("tray not set up: window %v menu %v icon %v", a.window, a.menu, a.icon)
	}
	var labels []string
	for _, it := range a.menu.Items {
		labels = append(labels, it.Label)
	}
	if want := "[License: Licensed  Show ISCDesk Check the license now  Quit]"; fmt.Sprint(labels) != want {
		t.Errorf("menu %v\nwant %s", labels, want)
	}
	if last := a.menu.Items[len(a.menu.Items)-1]; !last.IsQuit {
		t.Error("Quit is not marked as the quit item (fyne would add a second one)")
	}
	plain := a.icon
	lic.set(stateWith(errKind("validate", errs.Expired, "expired")), nil)
	a.menu.Items[3].Action() // Check the license now
	u.idle()
	if a.icon == plain || a.menu.Items[0].Label != "License: Expired" {
		t.Errorf("tray did not follow the state: icon %s, first line %q", a.icon.Name(), a.menu.Items[0].Label)
	}
	// Without a tray the window keeps its normal close (quit).
	b := &trayApp{testApp: &testApp{App: test.NewTempApp(t)}}
	v := New(b, test.NewTempWindow(t, nil), Deps{Licenses: lic})
	t.Cleanup(v.Close)
	if b.window != nil || b.menu != nil {
		t.Error("tray set up although Deps.HasTray is false")
	}
}

func TestPickCloudFile(t *testing.T) {
	files := []clouddrive.File{
		{Name: "pump.ocd", Path: "/cloud/pump.ocd", Size: 3 << 20, Modified: testNow.Add(-time.Hour)},
		{Name: "gearbox", Path: "/cloud/gearbox/gearbox.ocd", Assembly: true, Size: 40 << 20, Modified: testNow.Add(-48 * time.Hour)},
	}
	h := newHarness(t, &fakeLicenses{state: validState()}, func(d *Deps) { d.CloudFiles = fakeCloud{files: files} })
	got := make(chan clouddrive.File, 1)
	errc := make(chan error, 1)
	go func() {
		f, err := h.ui.PickCloudFile(context.Background())
		got <- f
		errc <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for h.ui.currentPicker() == nil {
		if time.Now().After(deadline) {
			t.Fatal("no file list shown")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.golden("pick_cloud_file.xml")
	h.ui.picker.list.Select(1)
	h.ui.picker.dialog.Confirm()
	if f, err := <-got, <-errc; err != nil || f.Path != files[1].Path {
		t.Fatalf("picked %+v, %v", f, err)
	}

	// The program gives up waiting: the list goes away.
	h.ui.pickerMu.Lock()
	h.ui.picker = nil
	h.ui.pickerMu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := h.ui.PickCloudFile(ctx)
		errc <- err
	}()
	for h.ui.currentPicker() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestChooseSaveAs(t *testing.T) {
	files := []clouddrive.File{
		{Name: "pump.ocd", Path: "/cloud/pump.ocd", Size: 3 << 20, Modified: testNow.Add(-time.Hour)},
		{Name: "gearbox", Path: "/cloud/gearbox/gearbox.ocd", Assembly: true, Size: 40 << 20, Modified: testNow.Add(-48 * time.Hour)},
		{Name: "valve.ocd", Path: "/cloud/valve.ocd", Size: 1 << 20, Modified: testNow.Add(-72 * time.Hour)},
	}
	h := newHarness(t, &fakeLicenses{state: validState()}, func(d *Deps) { d.CloudFiles = fakeCloud{files: files} })
	choose := func(ctx context.Context, req clouddrive.SaveAsRequest) (chan string, chan error) {
		h.ui.pickerMu.Lock()
		h.ui.saveAs = nil
		h.ui.pickerMu.Unlock()
		got, errc := make(chan string, 1), make(chan error, 1)
		go func() {
			name, err := h.ui.ChooseSaveAs(ctx, req)
			got <- name
			errc <- err
		}()
		deadline := time.Now().Add(5 * time.Second)
		for h.ui.currentSaveAs() == nil {
			if time.Now().After(deadline) {
				t.Fatal("no save-as dialog shown")
			}
			time.Sleep(5 * time.Millisecond)
		}
		return got, errc
	}

	// The suggestion is offered; the files of the drive (not the assembly)
	// can be chosen to replace.
	got, errc := choose(context.Background(), clouddrive.SaveAsRequest{FileName: "bracket.ocd"})
	s := h.ui.currentSaveAs()
	if s.name.Text != "bracket.ocd" || s.list.Length() != 2 || s.hint.Text != "" {
		t.Fatalf("dialog offers %q, %d entries, hint %q", s.name.Text, s.list.Length(), s.hint.Text)
	}
	h.golden("save_as.xml")
	s.list.Select(1)
	if s.name.Text != "valve.ocd" || s.hint.Text == "" {
		t.Fatalf("choosing an entry: name %q, hint %q", s.name.Text, s.hint.Text)
	}
	s.dialog.Submit()
	if name, err := <-got, <-errc; err != nil || name != "valve.ocd" {
		t.Fatalf("chose %q, %v", name, err)
	}

	// A name the drive refuses cannot be submitted; a good one typed can.
	got, errc = choose(context.Background(), clouddrive.SaveAsRequest{FileName: "bracket.ocd"})
	s = h.ui.currentSaveAs()
	for _, bad := range []string{"../escape.ocd", "", ".hidden", "a/b.ocd", "CON"} {
		h.ui.doAndWait(func() { s.name.SetText(bad) })
		if s.name.Validate() == nil {
			t.Errorf("the dialog accepts %q", bad)
		}
		s.dialog.Submit()
	}
	h.ui.doAndWait(func() { s.name.SetText("bracket-v2.ocd") })
	s.dialog.Submit()
	if name, err := <-got, <-errc; err != nil || name != "bracket-v2.ocd" {
		t.Fatalf("typed %q, %v", name, err)
	}

	// An assembly: its main file is offered; the assemblies are listed.
	got, errc = choose(context.Background(), clouddrive.SaveAsRequest{FileName: "gearbox.ocd", Assembly: true})
	s = h.ui.currentSaveAs()
	if s.list.Length() != 1 || s.hint.Text == "" {
		t.Fatalf("assembly: %d entries, hint %q", s.list.Length(), s.hint.Text)
	}
	s.dialog.Hide() // the user cancels
	if name, err := <-got, <-errc; !errors.Is(err, ErrSaveAsCancelled) || !errors.Is(err, context.Canceled) || name != "" {
		t.Fatalf("cancel: %q, %v", name, err)
	}

	// The program gives up waiting: the dialog goes away.
	ctx, cancel := context.WithCancel(context.Background())
	_, errc = choose(ctx, clouddrive.SaveAsRequest{FileName: "x.ocd"})
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}
