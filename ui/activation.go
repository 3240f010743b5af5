//go:build !darwin || cgo

package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/iscdesk/iscdesk/licensing"
)

// activationScreen takes a license code and activates it.
type activationScreen struct {
	u        *UI
	content  fyne.CanvasObject
	code     *widget.Entry
	hint     *widget.Label
	activate *widget.Button
	back     *widget.Button
	busy     *busyIndicator
	problem  *problemPanel
	running  bool
}

func newActivationScreen(u *UI) *activationScreen {
	s := &activationScreen{u: u, problem: newProblemPanel(), busy: newBusyIndicator(tr("activation.busy"))}
	s.code = widget.NewEntry()
	s.code.SetPlaceHolder(tr("activation.placeholder"))
	s.code.OnChanged = func(string) { s.validate() }
	s.code.OnSubmitted = func(string) { s.submit() }
	s.hint = caption(tr("activation.hint"))
	s.activate = widget.NewButtonWithIcon(tr("activation.activate"), theme.ConfirmIcon(), s.submit)
	s.activate.Importance = widget.HighImportance
	s.activate.Disable()
	// Back returns to the status of the authorization already cached (after
	// "Activate another code").
	s.back = widget.NewButton(tr("action.back"), func() { u.showActivation(false) })
	s.back.Hide()

	card := widget.NewCard(tr("activation.card"), tr("activation.card_sub"), container.NewVBox(
		s.code,
		s.hint,
		container.NewHBox(s.activate, s.back, s.busy.box),
		s.problem.box,
	))
	s.content = page(tr("activation.title"), tr("activation.intro"), card, caption(tr("activation.where")))
	return s
}

// validate checks the code's form as the user types, before any call.
func (s *activationScreen) validate() bool {
	text := strings.TrimSpace(s.code.Text)
	_, err := licensing.NormalizeCode(text)
	switch {
	case text == "":
		s.setHint(tr("activation.hint"), widget.MediumImportance)
	case err != nil:
		s.setHint(explain(err).Advice, widget.DangerImportance)
	default:
		s.setHint(tr("activation.format_ok"), widget.SuccessImportance)
	}
	if err != nil || s.running {
		s.activate.Disable()
	} else {
		s.activate.Enable()
	}
	return err == nil
}

func (s *activationScreen) setHint(text string, imp widget.Importance) {
	s.hint.Importance = imp
	s.hint.SetText(text)
}

// submit activates the code in the background, the form disabled meanwhile.
func (s *activationScreen) submit() {
	if s.running || !s.validate() {
		return
	}
	code := strings.TrimSpace(s.code.Text)
	s.setRunning(true)
	s.problem.hide()
	s.u.bg(remoteTimeout, func(ctx context.Context) func() {
		st, err := s.u.deps.Licenses.Activate(ctx, code)
		return func() {
			s.setRunning(false)
			if err != nil {
				s.problem.show(explain(err), s.submit)
				return
			}
			s.code.SetText("")
			s.u.forceActivation = false
			s.u.setLicense(newLicenseView(st, nil, s.u.now()))
		}
	})
}

func (s *activationScreen) setRunning(on bool) {
	s.running = on
	s.busy.set(on)
	if on {
		s.code.Disable()
		s.activate.Disable()
	} else {
		s.code.Enable()
		s.validate()
	}
}
