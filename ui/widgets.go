//go:build !darwin || cgo

package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

func layoutSpacer() fyne.CanvasObject { return layout.NewSpacer() }

// wrapped is a label that wraps at word boundaries.
func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// caption is small text (hints, footnotes). Its colour stays the normal
// one: fyne's low-importance grey is hard to read on the dark theme.
func caption(text string) *widget.Label {
	l := wrapped(text)
	l.SizeName = theme.SizeNameCaptionText
	return l
}

func heading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameSubHeadingText
	return l
}

// page lays a screen out: a title, a line saying what it is for, and the
// body, scrolling when the window is small.
func page(title, intro string, body ...fyne.CanvasObject) fyne.CanvasObject {
	head := container.NewVBox(heading(title), wrapped(intro))
	return container.NewBorder(container.NewPadded(head), nil, nil, nil,
		container.NewVScroll(container.NewPadded(container.NewVBox(body...))))
}

// problemPanel says what went wrong and what to do, with a retry button when
// trying again can help and the error's text folded away for support.
type problemPanel struct {
	box    *fyne.Container
	icon   *widget.Icon
	title  *widget.Label
	advice *widget.Label
	retry  *widget.Button
	detail *widget.Label
	more   *widget.Accordion
	onTry  func()
}

func newProblemPanel() *problemPanel {
	p := &problemPanel{
		icon:   widget.NewIcon(theme.NewErrorThemedResource(theme.ErrorIcon())),
		title:  widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		advice: wrapped(""),
		detail: caption(""),
	}
	p.title.Importance = widget.DangerImportance
	p.title.Wrapping = fyne.TextWrapWord
	p.detail.Selectable = true
	p.retry = widget.NewButtonWithIcon(tr("action.retry"), theme.ViewRefreshIcon(), func() {
		if p.onTry != nil {
			p.onTry()
		}
	})
	p.more = widget.NewAccordion(widget.NewAccordionItem(tr("problem.details"), p.detail))
	p.box = container.NewVBox(
		widget.NewSeparator(),
		container.NewBorder(nil, nil, container.NewVBox(p.icon), nil, p.title),
		p.advice,
		container.NewHBox(p.retry),
		p.more,
	)
	p.box.Hide()
	return p
}

// show displays pr as an error; retry, when not nil and pr says trying again
// may help, is what the Retry button does.
func (p *problemPanel) show(pr problem, retry func()) {
	p.icon.SetResource(theme.NewErrorThemedResource(theme.ErrorIcon()))
	p.title.Importance = widget.DangerImportance
	p.display(pr, retry)
}

// showWarning displays pr as a warning: something to fix that does not stop
// the software yet.
func (p *problemPanel) showWarning(pr problem, retry func()) {
	p.icon.SetResource(theme.NewWarningThemedResource(theme.WarningIcon()))
	p.title.Importance = widget.WarningImportance
	p.display(pr, retry)
}

func (p *problemPanel) display(pr problem, retry func()) {
	p.title.SetText(pr.Title)
	p.advice.SetText(pr.Advice)
	p.detail.SetText(pr.Detail)
	p.onTry = retry
	if retry != nil && pr.Retry {
		p.retry.Show()
	} else {
		p.retry.Hide()
	}
	if pr.Detail == "" {
		p.more.Hide()
	} else {
		p.more.Show()
	}
	p.box.Show()
	p.box.Refresh()
}

func (p *problemPanel) hide() { p.box.Hide() }

// busyIndicator is a spinner with a line saying what is going on.
type busyIndicator struct {
	box     *fyne.Container
	spinner *widget.Activity
	label   *widget.Label
}

func newBusyIndicator(text string) *busyIndicator {
	b := &busyIndicator{spinner: widget.NewActivity(), label: widget.NewLabel(text)}
	b.box = container.NewHBox(b.spinner, b.label)
	b.box.Hide()
	return b
}

func (b *busyIndicator) set(on bool) {
	if on {
		b.box.Show()
		b.spinner.Start()
	} else {
		b.spinner.Stop()
		b.box.Hide()
	}
}

// fieldGrid shows name/value pairs in two aligned columns.
func fieldGrid(pairs ...fyne.CanvasObject) *fyne.Container {
	return container.New(layout.NewFormLayout(), pairs...)
}

func fieldName(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignTrailing, fyne.TextStyle{})
}

func fieldValue() *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.Selectable = true
	return l
}

// formatDate and formatDateTime render times in the user's time zone.
func (u *UI) formatDate(t time.Time) string {
	if t.IsZero() {
		return tr("value.unknown")
	}
	return t.In(u.location()).Format(time.DateOnly)
}

func (u *UI) formatDateTime(t time.Time) string {
	if t.IsZero() {
		return tr("value.never")
	}
	return t.In(u.location()).Format("2006-01-02 15:04")
}
