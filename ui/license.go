//go:build !darwin || cgo

package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
)

// phase is what the window shows about the license, derived from the
// licensing.State and error the Licenses interface returned (the rules
// themselves live in licensing).
type phase int

const (
	phaseLoading phase = iota // no answer yet
	phaseNone                 // nothing cached: activate a code
	phaseValid                // the software may run
	phaseGrace                // may run from the cache: the license server could not be reached
	phaseInvalid              // cached but not usable (expired, released, another machine…)
	phaseError                // the state could not be read (keyring failure, damaged record…)
)

// expiryWarning is how long before the expiry the app starts warning.
const expiryWarning = 14 * 24 * time.Hour

// licenseView is one answer about the license, as the screens show it.
type licenseView struct {
	phase phase
	state licensing.State
	err   error // why it is not valid (phaseInvalid, phaseError)
	at    time.Time
}

func newLicenseView(st licensing.State, err error, now time.Time) licenseView {
	v := licenseView{state: st, at: now}
	switch {
	case err != nil && errs.Is(err, errs.NotActivated) && st.Record.License == "":
		v.phase = phaseNone
	case err != nil && st.Record.License != "":
		// A definite answer from the license server about a cached
		// activation (another machine by its tolerance, a key it does not
		// know): no cache covers it.
		v.phase, v.err = phaseInvalid, err
	case err != nil:
		v.phase, v.err = phaseError, err
	case !st.Verdict.Valid():
		v.phase, v.err = phaseInvalid, st.Verdict.Err
	case st.OnlineErr != nil:
		v.phase = phaseGrace
	default:
		v.phase = phaseValid
	}
	return v
}

func (v licenseView) showActivation() bool { return v.phase == phaseNone }

func (v licenseView) hasRecord() bool { return v.state.Record.License != "" }

func (v licenseView) usable() bool { return v.phase == phaseValid || v.phase == phaseGrace }

// headline is the few words of the header chip and the tray.
func (v licenseView) headline() string {
	switch v.phase {
	case phaseLoading:
		return tr("state.loading")
	case phaseNone:
		return tr("state.none")
	case phaseValid:
		return tr("state.valid")
	case phaseGrace:
		return tr("state.grace")
	}
	return explain(v.err).Short
}

func (v licenseView) importance() widget.Importance {
	switch v.phase {
	case phaseValid:
		if v.expiresSoon() {
			return widget.WarningImportance
		}
		return widget.SuccessImportance
	case phaseGrace:
		return widget.WarningImportance
	case phaseInvalid, phaseError:
		return widget.DangerImportance
	}
	return widget.MediumImportance
}

func (v licenseView) icon() fyne.Resource {
	switch v.phase {
	case phaseValid:
		if v.expiresSoon() {
			return theme.NewWarningThemedResource(theme.WarningIcon())
		}
		return theme.NewSuccessThemedResource(theme.ConfirmIcon())
	case phaseGrace:
		return theme.NewWarningThemedResource(theme.WarningIcon())
	case phaseInvalid, phaseError:
		return theme.NewErrorThemedResource(theme.ErrorIcon())
	}
	return theme.InfoIcon()
}

// daysLeft is the number of days until the expiry, rounded up (a license
// expiring in 3 hours has 1 day left); ok is false without an expiry.
func (v licenseView) daysLeft() (days int, ok bool) {
	exp := v.state.Record.ExpireTime
	if exp.IsZero() {
		return 0, false
	}
	left := exp.Sub(v.at)
	if left <= 0 {
		return 0, true
	}
	return int((left + 24*time.Hour - 1) / (24 * time.Hour)), true
}

func (v licenseView) expiresSoon() bool {
	exp := v.state.Record.ExpireTime
	return v.usable() && !exp.IsZero() && exp.Sub(v.at) <= expiryWarning
}

// onlineDue reports whether no online check succeeded on this UTC day (the
// manager's daily rhythm).
func (v licenseView) onlineDue(now time.Time) bool {
	if !v.hasRecord() {
		return false
	}
	ay, am, ad := v.state.Record.LastCheckedAt.UTC().Date()
	by, bm, bd := now.UTC().Date()
	return ay != by || am != bm || ad != bd
}

// notification returns the desktop notification this state calls for after
// prev (key "" for none); the key makes it once per run and cause.
func (v licenseView) notification(prev licenseView) (key, title, body string) {
	r := v.state.Record
	switch {
	case v.expiresSoon():
		days, _ := v.daysLeft()
		return "expiring " + r.ExpireTime.UTC().Format(time.DateOnly),
			tr("notify.expiring.title"),
			trN("notify.expiring.body", days, map[string]any{"Code": r.License, "Date": r.ExpireTime.Format(time.DateOnly), "Count": days})
	case v.phase == phaseInvalid && prev.usable():
		p := explain(v.err)
		return "invalid " + p.Short, tr("notify.invalid.title"), p.Title + " " + p.Advice
	}
	return "", "", ""
}
