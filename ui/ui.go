//go:build !darwin || cgo

package ui

import (
	"context"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/iscdesk/iscdesk/agent/activity"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/assets"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/licensing"
)

// Licenses runs the license flows: the process's licensing.Service, which
// reads the current settings for every call.
type Licenses interface {
	Activate(ctx context.Context, code string) (licensing.State, error)
	// Status validates the cached activation, asking the license server
	// first when online is set. An error of kind NotActivated means nothing
	// is cached.
	Status(ctx context.Context, online bool) (licensing.State, error)
	Forget(ctx context.Context) error
}

// Device reads this machine's fingerprint.
type Device interface {
	Fingerprint(ctx context.Context) devinfo.Fingerprint
}

// Settings reads and writes the user's settings. Load returns the merged
// configuration with Locked naming the administrator's settings; Save writes
// only what the user may change.
type Settings interface {
	Load() (config.Config, error)
	Save(config.Config) error
}

// Activity is what connected programs asked the agent for (agent.Activity).
type Activity interface {
	Entries() []activity.Entry
	Subscribe(func(activity.Entry))
}

// CloudFiles lists the cloud drive, for the file a program asks the user to
// choose (OpenCloudFile).
type CloudFiles interface {
	List(ctx context.Context) ([]clouddrive.File, error)
}

// Deps is what the window drives. Any of Device, Settings, Activity and
// CloudFiles may be nil: its screen then says it is not available.
type Deps struct {
	Licenses   Licenses
	Device     Device
	Settings   Settings
	Activity   Activity
	CloudFiles CloudFiles
	// Version is shown in the window's footer.
	Version string
	// Now and Location fix the clock and the time zone (tests); nil means
	// time.Now and time.Local.
	Now      func() time.Time
	Location *time.Location
	// HasTray says a system tray shows the app's icon: closing the window
	// then hides it, and the agent keeps serving programs.
	HasTray bool
	// OnLanguage is called after the user picked another language in
	// Settings and it was applied; nil means nothing more to do.
	OnLanguage func(code string)
}

// Call timeouts: a stuck keyring or license server never leaves a spinner
// turning forever.
const (
	remoteTimeout = 70 * time.Second // the license server's client gives up within a minute
	localTimeout  = 15 * time.Second // keyring, files, hardware probes
)

// UI is the desktop window and its tray. Build it with New, then call Start.
type UI struct {
	app  fyne.App
	win  fyne.Window
	deps Deps

	ctx    context.Context
	cancel context.CancelFunc
	// pending counts background calls, so tests can wait for quiet.
	pending sync.WaitGroup
	// onUI serialises the functions sent to fyne.Do. fyne's app runs them
	// one at a time on its goroutine already; its test driver runs each on
	// the caller's goroutine, and this keeps them from overlapping there.
	onUI sync.Mutex

	// license is the latest known license state; UI goroutine only.
	license licenseView
	// forceActivation shows the activation screen although an
	// authorization is cached ("Activate another code").
	forceActivation bool
	onLicense       []func(licenseView)
	notified        map[string]bool // notifications already sent this run
	stateChip       *widget.Label
	stateIcon       *widget.Icon
	tabs            *container.AppTabs
	activation      *activationScreen
	status          *statusScreen
	device          *deviceScreen
	activity        *activityScreen
	settings        *settingsScreen
	licenseTab      *container.TabItem
	tray            *trayMenu
	pickerMu        sync.Mutex
	picker          *picker
	saveAs          *saveAsChooser // guarded by pickerMu too
}

// New builds the window's content into w. It makes no slow call; Start
// loads the license state in the background.
func New(a fyne.App, w fyne.Window, deps Deps) *UI {
	u := &UI{app: a, win: w, deps: deps, notified: map[string]bool{}}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	u.build()
	u.setupTray()
	return u
}

// SetLanguage switches the language ("", "en" or "zh") and rebuilds the
// screens in it.
func (u *UI) SetLanguage(code string) {
	if err := ApplyLanguage(code); err != nil {
		fyne.LogError("switching the language", err)
		return
	}
	selected := 0
	if u.tabs != nil {
		selected = u.tabs.SelectedIndex()
	}
	u.build()
	u.tabs.SelectIndex(selected)
	if u.deps.Activity != nil {
		u.activity.show(u.deps.Activity.Entries()) // in memory: no I/O
	}
	if u.deps.OnLanguage != nil {
		u.deps.OnLanguage(code)
	}
}

// showActivation switches the License tab between the activation screen and
// the cached authorization's status.
func (u *UI) showActivation(on bool) {
	u.forceActivation = on
	u.setLicense(u.license)
}

// build (re)creates every screen; a language switch calls it again so that
// each label is translated anew.
func (u *UI) build() {
	u.onLicense = nil
	u.activation = newActivationScreen(u)
	u.status = newStatusScreen(u)
	u.device = newDeviceScreen(u)
	u.activity = newActivityScreen(u)
	u.settings = newSettingsScreen(u)

	u.licenseTab = container.NewTabItemWithIcon(tr("tab.license"), theme.AccountIcon(), u.licenseContent())
	u.tabs = container.NewAppTabs(
		u.licenseTab,
		container.NewTabItemWithIcon(tr("tab.device"), theme.ComputerIcon(), u.device.content),
		container.NewTabItemWithIcon(tr("tab.activity"), theme.ListIcon(), u.activity.content),
		container.NewTabItemWithIcon(tr("tab.settings"), theme.SettingsIcon(), u.settings.content),
	)
	u.tabs.SetTabLocation(container.TabLocationLeading)
	u.tabs.OnSelected = func(t *container.TabItem) {
		switch t.Content {
		case u.device.content:
			u.device.load(false)
		case u.settings.content:
			u.settings.load()
		}
	}

	u.win.SetTitle(tr("app.title"))
	u.win.SetContent(container.NewBorder(u.header(), u.footer(), nil, nil, u.tabs))
	u.onLicenseChange(u.updateHeader)
	u.onLicenseChange(func(v licenseView) {
		if v.hasRecord() && u.forceActivation {
			u.activation.back.Show()
		} else {
			u.activation.back.Hide()
		}
		if c := u.licenseContent(); u.licenseTab.Content != c {
			u.licenseTab.Content = c
			u.tabs.Refresh()
		}
	})
	u.onLicenseChange(func(licenseView) {
		if u.tray != nil {
			u.tray.rebuild()
		}
	})
	u.setLicense(u.license)
}

func (u *UI) header() fyne.CanvasObject {
	icon := canvas.NewImageFromResource(u.icon())
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSquareSize(40))
	name := widget.NewLabelWithStyle(tr("app.name"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.SizeName = theme.SizeNameSubHeadingText
	sub := caption(tr("app.subtitle"))
	sub.Wrapping = fyne.TextWrapOff
	u.stateIcon = widget.NewIcon(theme.InfoIcon())
	u.stateChip = widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
	title := container.NewHBox(container.NewCenter(icon), container.New(layout.NewCustomPaddedVBoxLayout(0), name, sub))
	state := container.NewCenter(container.NewHBox(u.stateIcon, u.stateChip))
	return container.NewVBox(
		container.NewPadded(container.NewBorder(nil, nil, title, state)),
		widget.NewSeparator(),
	)
}

func (u *UI) footer() fyne.CanvasObject {
	v := caption(tr("app.version", map[string]any{"Version": u.deps.Version}))
	v.Wrapping = fyne.TextWrapOff
	return container.NewHBox(layoutSpacer(), v)
}

func (u *UI) updateHeader(v licenseView) {
	u.stateChip.SetText(v.headline())
	u.stateChip.Importance = v.importance()
	u.stateChip.Refresh()
	u.stateIcon.SetResource(v.icon())
}

// licenseContent is the License tab: the activation screen until an
// authorization is cached, then its status.
func (u *UI) licenseContent() fyne.CanvasObject {
	if u.license.showActivation() || u.forceActivation {
		return u.activation.content
	}
	return u.status.content
}

// Start loads the license state (offline at once, then online once a day)
// and keeps it fresh while the app runs, in the background.
func (u *UI) Start() {
	u.refresh(false, true)
	if u.deps.Activity != nil {
		u.watchActivity()
	}
	go u.keepFresh()
}

// keepFresh re-validates every hour, so that a window left open for days in
// the tray notices an expiry or a lapsed grace period; the online check runs
// when none succeeded today.
func (u *UI) keepFresh() {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-u.ctx.Done():
			return
		case <-t.C:
			u.do(func() { u.refresh(u.license.onlineDue(u.now()), false) })
		}
	}
}

// Screens are the names ShowScreen takes, in the order of the tabs.
var Screens = []string{"license", "device", "activity", "settings"}

// ShowScreen brings the window forward on the named screen (a second launch,
// scripted screenshots); it reports whether the name is known.
func (u *UI) ShowScreen(name string) bool {
	for i, s := range Screens {
		if s == name {
			u.tabs.SelectIndex(i)
			u.Show()
			return true
		}
	}
	return false
}

// Close stops the background work (on quit).
func (u *UI) Close() { u.cancel() }

// Show brings the window to the front (the tray's Show, a second launch).
func (u *UI) Show() {
	u.win.Show()
	u.win.RequestFocus()
}

// icon is the app's icon (FyneApp.toml's, set by the app), else the one in
// assets.
func (u *UI) icon() fyne.Resource {
	if r := u.app.Icon(); r != nil {
		return r
	}
	return fyne.NewStaticResource("icon.png", assets.SmallIcon)
}

func (u *UI) now() time.Time {
	if u.deps.Now != nil {
		return u.deps.Now()
	}
	return time.Now()
}

func (u *UI) location() *time.Location {
	if u.deps.Location != nil {
		return u.deps.Location
	}
	return time.Local
}

// do runs f on the UI goroutine (fyne.Do), one at a time.
func (u *UI) do(f func()) {
	fyne.Do(func() {
		u.onUI.Lock()
		defer u.onUI.Unlock()
		f()
	})
}

// doAndWait is do, waiting until f has run.
func (u *UI) doAndWait(f func()) {
	fyne.DoAndWait(func() {
		u.onUI.Lock()
		defer u.onUI.Unlock()
		f()
	})
}

// bg runs work off the UI goroutine with a deadline; the function it returns
// (if any) then runs on the UI goroutine (UI.do).
func (u *UI) bg(timeout time.Duration, work func(ctx context.Context) func()) {
	u.pending.Add(1)
	go func() {
		defer u.pending.Done()
		ctx, cancel := context.WithTimeout(u.ctx, timeout)
		defer cancel()
		if apply := work(ctx); apply != nil {
			u.do(apply)
		}
	}()
}

// refresh re-validates the license in the background. With thenOnline it
// first shows the offline answer and then asks the license server when no
// online check succeeded today, like `iscdesk status` on each start.
func (u *UI) refresh(online, thenOnline bool) {
	u.status.setBusy(true)
	u.bg(remoteTimeout, func(ctx context.Context) func() {
		st, err := u.deps.Licenses.Status(ctx, online)
		return func() {
			v := newLicenseView(st, err, u.now())
			u.setLicense(v)
			if thenOnline && !online && v.onlineDue(u.now()) {
				u.refresh(true, false)
				return
			}
			u.status.setBusy(false)
		}
	})
}

// onLicenseChange registers f to run on every license state change (UI
// goroutine).
func (u *UI) onLicenseChange(f func(licenseView)) { u.onLicense = append(u.onLicense, f) }

func (u *UI) setLicense(v licenseView) {
	prev := u.license
	u.license = v
	for _, f := range u.onLicense {
		f(v)
	}
	u.notify(prev, v)
}

// notify sends a desktop notification when the license is about to expire
// or stopped being valid, once per run and cause.
func (u *UI) notify(prev, v licenseView) {
	key, title, body := v.notification(prev)
	if key == "" || u.notified[key] {
		return
	}
	u.notified[key] = true
	u.app.SendNotification(fyne.NewNotification(title, body))
}

// idle waits until no background call runs (tests).
func (u *UI) idle() { u.pending.Wait() }
