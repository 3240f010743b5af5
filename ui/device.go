//go:build !darwin || cgo

package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
)

// deviceScreen shows this machine's fingerprint, where each part was read,
// and which parts changed since the activation.
type deviceScreen struct {
	u       *UI
	content fyne.CanvasObject

	fp       *widget.Label
	copyBtn  *widget.Button
	parts    *fyne.Container
	problems *widget.Label
	busy     *busyIndicator
	loaded   bool
	current  devinfo.Fingerprint
}

func newDeviceScreen(u *UI) *deviceScreen {
	s := &deviceScreen{u: u, busy: newBusyIndicator(tr("device.busy"))}
	// The regular face, not monospace: every text style costs fyne a font
	// (~8 MB resident), and the fingerprint reads fine without it.
	s.fp = widget.NewLabel("—")
	s.fp.Wrapping = fyne.TextWrapBreak
	s.fp.Selectable = true
	s.copyBtn = widget.NewButtonWithIcon(tr("device.copy"), theme.ContentCopyIcon(), s.copy)
	s.copyBtn.Disable()
	refresh := widget.NewButtonWithIcon(tr("device.refresh"), theme.ViewRefreshIcon(), func() { s.load(true) })
	s.parts = container.NewGridWithColumns(4)
	s.problems = wrapped("")
	s.problems.Importance = widget.WarningImportance
	s.problems.Hide()

	if u.deps.Device == nil {
		s.content = page(tr("device.title"), tr("device.intro"), wrapped(tr("screen.unavailable")))
		return s
	}
	s.content = page(tr("device.title"), tr("device.intro"),
		widget.NewCard(tr("device.fingerprint"), "", container.NewVBox(s.fp, container.NewHBox(s.copyBtn, refresh, s.busy.box))),
		widget.NewCard(tr("device.parts"), tr("device.parts_sub"), s.parts),
		s.problems,
	)
	u.onLicenseChange(func(licenseView) {
		if s.loaded {
			s.show(s.current)
		}
	})
	return s
}

// load reads the fingerprint in the background (the probes read sysfs, WMI
// or IOKit); once per run unless force.
func (s *deviceScreen) load(force bool) {
	if s.u.deps.Device == nil || (s.loaded && !force) {
		return
	}
	s.busy.set(true)
	s.u.bg(localTimeout, func(ctx context.Context) func() {
		fp := s.u.deps.Device.Fingerprint(ctx)
		return func() {
			s.busy.set(false)
			s.loaded = true
			s.show(fp)
		}
	})
}

func (s *deviceScreen) show(fp devinfo.Fingerprint) {
	s.current = fp
	s.fp.SetText(orDash(fp.String()))
	if fp.String() != "" {
		s.copyBtn.Enable()
	}
	rec := s.u.license.state.Record
	var states map[devinfo.Part]devinfo.State
	if s.u.license.hasRecord() {
		states = devinfo.Compare(rec.Components, fp.Components).States
	}

	cells := []fyne.CanvasObject{
		columnHead(tr("device.col.part")), columnHead(tr("device.col.value")),
		columnHead(tr("device.col.source")), columnHead(tr("device.col.since")),
	}
	for _, p := range devinfo.Parts {
		value := widget.NewLabel(orDash(partValue(fp.Components, p)))
		value.Wrapping = fyne.TextWrapBreak
		value.Selectable = true
		source := caption(orDash(fp.Sources[p]))
		cells = append(cells, widget.NewLabel(tr("part."+string(p))), value, source, compareLabel(states, p))
	}
	s.parts.Objects = cells
	s.parts.Refresh()

	if len(fp.Problems) > 0 || fp.Truncated {
		var lines []string
		for _, pr := range fp.Problems {
			lines = append(lines, tr("device.problem", map[string]any{"Part": tr("part." + string(pr.Part)), "Err": pr.Err}))
		}
		if fp.Truncated {
			lines = append(lines, tr("device.truncated"))
		}
		s.problems.SetText(strings.Join(lines, "\n"))
		s.problems.Show()
	} else {
		s.problems.Hide()
	}
}

func columnHead(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

func partValue(c devinfo.Components, p devinfo.Part) string {
	switch p {
	case devinfo.PartMAC:
		return strings.Join(c.MAC, "\n")
	case devinfo.PartDisk:
		return strings.Join(c.Disk, "\n")
	case devinfo.PartBoard:
		return c.Board
	case devinfo.PartCPU:
		return c.CPU
	}
	return ""
}

// compareLabel says how part p relates to the fingerprint the authorization
// is bound to ("—" without one).
func compareLabel(states map[devinfo.Part]devinfo.State, p devinfo.Part) *widget.Label {
	if states == nil {
		return widget.NewLabel("—")
	}
	st := states[p]
	l := widget.NewLabel(tr("compare." + string(st)))
	switch st {
	case devinfo.Same:
		l.Importance = widget.SuccessImportance
	case devinfo.Partial, devinfo.Added:
		l.Importance = widget.WarningImportance
	default:
		l.Importance = widget.DangerImportance
	}
	return l
}

func (s *deviceScreen) copy() {
	s.u.app.Clipboard().SetContent(s.current.String())
	s.copyBtn.SetText(tr("device.copied"))
}
