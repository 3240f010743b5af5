//go:build !darwin || cgo

package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/iscdesk/iscdesk/licensing"
)

// statusScreen shows the cached authorization and what it allows.
type statusScreen struct {
	u       *UI
	content fyne.CanvasObject

	icon     *widget.Icon
	headline *widget.Label
	summary  *widget.Label
	problem  *problemPanel

	code, product, order, expires, activated, checked, storage *widget.Label

	recheck, remove, another *widget.Button
	busy                     *busyIndicator
	confirm                  *dialog.ConfirmDialog // the open removal question (tests)
}

func newStatusScreen(u *UI) *statusScreen {
	s := &statusScreen{
		u:        u,
		icon:     widget.NewIcon(theme.InfoIcon()),
		headline: heading(""),
		summary:  wrapped(""),
		problem:  newProblemPanel(),
		code:     fieldValue(), product: fieldValue(), order: fieldValue(), expires: fieldValue(),
		activated: fieldValue(), checked: fieldValue(), storage: fieldValue(),
		busy: newBusyIndicator(tr("status.busy")),
	}
	s.recheck = widget.NewButtonWithIcon(tr("status.recheck"), theme.ViewRefreshIcon(), func() { u.refresh(true, false) })
	s.remove = widget.NewButtonWithIcon(tr("status.remove"), theme.DeleteIcon(), s.confirmRemove)
	s.another = widget.NewButtonWithIcon(tr("status.another"), theme.ContentAddIcon(), func() { u.showActivation(true) })
	s.another.Importance = widget.HighImportance

	details := fieldGrid(
		fieldName(tr("status.code")), s.code,
		fieldName(tr("status.product")), s.product,
		fieldName(tr("status.order")), s.order,
		fieldName(tr("status.expires")), s.expires,
		fieldName(tr("status.activated")), s.activated,
		fieldName(tr("status.checked")), s.checked,
		fieldName(tr("status.storage")), s.storage,
	)
	top := container.NewBorder(nil, nil, s.icon, nil, s.headline)
	// The actions sit with the verdict, above the fold of a small window.
	card := widget.NewCard("", "", container.NewVBox(top, s.summary, s.problem.box,
		container.NewHBox(s.recheck, s.another, s.busy.box, layoutSpacer(), s.remove)))
	s.content = page(tr("status.title"), tr("status.intro"),
		card,
		widget.NewCard(tr("status.details"), "", details),
	)
	u.onLicenseChange(s.update)
	return s
}

func (s *statusScreen) update(v licenseView) {
	r := v.state.Record
	s.icon.SetResource(v.icon())
	s.headline.Importance = v.importance()
	s.headline.SetText(v.headline())

	switch v.phase {
	case phaseLoading:
		s.summary.SetText(tr("status.summary.loading"))
	case phaseValid:
		s.summary.SetText(s.validSummary(v))
	case phaseGrace:
		days := int(v.state.Verdict.GraceLeft.Hours() / 24)
		s.summary.SetText(trN("status.summary.grace", days, map[string]any{"Count": days}))
	default:
		s.summary.SetText("")
	}
	// An unusable license says it all in the problem panel below.
	if s.summary.Text == "" {
		s.summary.Hide()
	} else {
		s.summary.Show()
	}
	// No Retry in the panel: "Check now" sits right below it.
	if v.err != nil {
		s.problem.show(explain(v.err), nil)
	} else if v.phase == phaseGrace {
		// Still licensed: why the check failed is a warning, not an error.
		s.problem.showWarning(explain(v.state.OnlineErr), nil)
	} else {
		s.problem.hide()
	}

	s.code.SetText(orDash(r.License))
	s.product.SetText(orDash(r.ProductID))
	s.order.SetText(orDash(r.OrderID))
	switch days, ok := v.daysLeft(); {
	case !v.hasRecord():
		s.expires.SetText("—")
	case !ok:
		s.expires.SetText(tr("status.no_expiry"))
	case days == 0:
		s.expires.SetText(tr("status.expired_on", map[string]any{"Date": s.u.formatDate(r.ExpireTime)}))
	default:
		s.expires.SetText(trN("status.expires_on", days, map[string]any{"Date": s.u.formatDate(r.ExpireTime), "Count": days}))
	}
	s.activated.SetText("—")
	checked := "—"
	if v.hasRecord() {
		s.activated.SetText(s.u.formatDate(r.ActivatedAt))
		checked = s.u.formatDateTime(r.LastCheckedAt)
	}
	if v.hasRecord() && v.state.Source == licensing.SourceOnline {
		checked = tr("status.checked_now", map[string]any{"Time": checked})
	}
	s.checked.SetText(checked)
	switch v.state.Storage {
	case "keyring":
		s.storage.SetText(tr("status.storage.keyring"))
	case "file":
		s.storage.SetText(tr("status.storage.file"))
	default:
		s.storage.SetText(orDash(v.state.Storage))
	}

	if v.phase == phaseInvalid {
		s.another.Show()
	} else {
		s.another.Hide()
	}
	if v.hasRecord() || v.phase == phaseError {
		s.remove.Enable()
	} else {
		s.remove.Disable()
	}
}

func (s *statusScreen) validSummary(v licenseView) string {
	days, ok := v.daysLeft()
	if !ok {
		return tr("status.summary.valid_forever")
	}
	if v.expiresSoon() {
		return trN("status.summary.expiring", days, map[string]any{"Count": days})
	}
	return trN("status.summary.valid", days, map[string]any{"Count": days})
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (s *statusScreen) setBusy(on bool) {
	s.busy.set(on)
	if on {
		s.recheck.Disable()
	} else {
		s.recheck.Enable()
	}
}

// confirmRemove asks before removing the authorization from this machine.
func (s *statusScreen) confirmRemove() {
	code := s.u.license.state.Record.License
	msg := tr("status.remove_confirm.body", map[string]any{"Code": orDash(code)})
	d := dialog.NewConfirm(tr("status.remove_confirm.title"), msg, func(ok bool) {
		if ok {
			s.forget()
		}
	}, s.u.win)
	d.SetConfirmText(tr("status.remove_confirm.ok"))
	d.SetConfirmImportance(widget.DangerImportance)
	d.SetDismissText(tr("action.cancel"))
	d.Show()
	s.confirm = d
}

func (s *statusScreen) forget() {
	s.setBusy(true)
	s.u.bg(localTimeout, func(ctx context.Context) func() {
		err := s.u.deps.Licenses.Forget(ctx)
		return func() {
			s.setBusy(false)
			if err != nil {
				p := explain(err)
				dialog.ShowInformation(p.Title, p.Advice+"\n\n"+p.Detail, s.u.win)
				return
			}
			s.u.setLicense(licenseView{phase: phaseNone, at: s.u.now()})
		}
	})
}
