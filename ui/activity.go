//go:build !darwin || cgo

package ui

import (
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/iscdesk/iscdesk/agent/activity"
	"github.com/iscdesk/iscdesk/protocol"
)

// activityRefresh bounds how often the list is redrawn while a save reports
// progress many times a second.
const activityRefresh = 150 * time.Millisecond

// activityScreen lists what connected programs asked for, newest first.
type activityScreen struct {
	u       *UI
	content fyne.CanvasObject
	list    *widget.List
	empty   *widget.Label
	entries []activity.Entry // UI goroutine only
}

func newActivityScreen(u *UI) *activityScreen {
	s := &activityScreen{u: u}
	s.empty = wrapped(tr("activity.empty"))
	s.list = widget.NewList(
		func() int { return len(s.entries) },
		func() fyne.CanvasObject { return newActivityRow() },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(s.entries) {
				o.(*activityRow).set(u, s.entries[i])
			}
		},
	)
	if u.deps.Activity == nil {
		s.content = page(tr("activity.title"), tr("activity.intro"), wrapped(tr("screen.unavailable")))
		return s
	}
	head := container.NewVBox(heading(tr("activity.title")), wrapped(tr("activity.intro")))
	s.content = container.NewBorder(container.NewPadded(head), nil, nil, nil, container.NewStack(s.empty, s.list))
	s.show(s.entries)
	return s
}

func (s *activityScreen) show(entries []activity.Entry) {
	s.entries = entries
	if len(entries) == 0 {
		s.empty.Show()
		s.list.Hide()
	} else {
		s.empty.Hide()
		s.list.Show()
	}
	s.list.Refresh()
}

// watchActivity follows the agent's activity log: every change schedules one
// redraw, at most every activityRefresh, with the entries read off the UI
// goroutine.
func (u *UI) watchActivity() {
	var mu sync.Mutex
	scheduled := false
	load := func() {
		defer u.pending.Done()
		mu.Lock()
		scheduled = false
		mu.Unlock()
		entries := u.deps.Activity.Entries()
		u.do(func() { u.activity.show(entries) })
	}
	u.deps.Activity.Subscribe(func(activity.Entry) {
		mu.Lock()
		defer mu.Unlock()
		if !scheduled {
			scheduled = true
			u.pending.Add(1)
			time.AfterFunc(activityRefresh, load)
		}
	})
	u.pending.Add(1)
	go load()
}

// activityRow is one entry: what was asked by whom and when, its progress
// or outcome.
type activityRow struct {
	widget.BaseWidget
	icon     *widget.Icon
	title    *widget.Label
	when     *widget.Label
	detail   *widget.Label
	outcome  *widget.Label
	progress *widget.ProgressBar
}

func newActivityRow() *activityRow {
	r := &activityRow{
		icon:     widget.NewIcon(theme.MediaPlayIcon()),
		title:    widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		when:     caption(""),
		detail:   caption(""),
		outcome:  widget.NewLabel(""),
		progress: widget.NewProgressBar(),
	}
	r.when.Wrapping = fyne.TextWrapOff
	r.detail.Truncation = fyne.TextTruncateEllipsis
	r.detail.Wrapping = fyne.TextWrapOff
	r.outcome.Truncation = fyne.TextTruncateEllipsis
	r.ExtendBaseWidget(r)
	return r
}

func (r *activityRow) CreateRenderer() fyne.WidgetRenderer {
	body := container.NewVBox(
		container.NewBorder(nil, nil, nil, r.when, r.title),
		r.detail,
		container.NewStack(r.outcome, r.progress),
	)
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, container.NewVBox(r.icon), nil, body))
}

func (r *activityRow) set(u *UI, e activity.Entry) {
	app := e.App
	if app == "" {
		app = tr("activity.unknown_app")
	}
	r.title.SetText(tr("activity.row", map[string]any{"App": app, "Call": callName(e.Call)}))
	r.when.SetText(e.Time.In(u.location()).Format("2006-01-02 15:04:05"))
	r.detail.SetText(e.Detail)
	switch e.Status {
	case protocol.StatusFailed:
		r.icon.SetResource(theme.NewErrorThemedResource(theme.ErrorIcon()))
		r.outcome.Importance = widget.DangerImportance
		r.outcome.SetText(tr("activity.failed", map[string]any{"Err": e.Err}))
		r.outcome.Show()
		r.progress.Hide()
	case protocol.StatusSuccess:
		r.icon.SetResource(theme.NewSuccessThemedResource(theme.ConfirmIcon()))
		r.outcome.Importance = widget.SuccessImportance
		r.outcome.SetText(tr("activity.done", map[string]any{"Duration": e.Finished.Sub(e.Time).Round(time.Millisecond)}))
		r.outcome.Show()
		r.progress.Hide()
	default:
		r.icon.SetResource(theme.MediaPlayIcon())
		if e.Total > 0 {
			r.progress.SetValue(float64(e.Done) / float64(e.Total))
			r.progress.Show()
			r.outcome.Hide()
		} else {
			r.outcome.Importance = widget.MediumImportance
			r.outcome.SetText(tr("activity.running"))
			r.outcome.Show()
			r.progress.Hide()
		}
	}
}

// callName is the SDK method as people say it.
func callName(method string) string {
	switch method {
	case protocol.MethodSave, protocol.MethodOpenCloudFile, protocol.MethodGetSolution, protocol.MethodGetLicenseString,
		protocol.MethodGetLicenseFile, protocol.MethodLicenseVerifyNotify, protocol.MethodCheckNewVersions, protocol.MethodUpgradeNotify:
		return tr("call." + method)
	}
	return method
}
