//go:build !darwin || cgo

package ui

import (
	"errors"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
)

// problem is what the window says about a failure: what happened, what to do,
// and whether trying again can help.
type problem struct {
	Short  string // a few words for the header and the tray ("Expired")
	Title  string // what happened, as a sentence
	Advice string // what to do
	Retry  bool   // the same call may succeed later (network, keyring)
	Detail string // the error's own text, for support (English)
}

// kindMessages is the one place mapping error kinds to what people read
// (translation keys: kind.<name>.short, .title, .advice). The CLI maps the
// same kinds to exit codes in cmd/iscdesk/exit.go.
var kindMessages = map[errs.Kind]struct {
	key   string
	retry bool
}{
	errs.Other:         {"other", true},
	errs.Invalid:       {"invalid", false},
	errs.NotFound:      {"not_found", false},
	errs.NotDelivered:  {"not_delivered", true},
	errs.NotActivated:  {"not_activated", false},
	errs.Expired:       {"expired", false},
	errs.Released:      {"released", false},
	errs.WrongMachine:  {"wrong_machine", false},
	errs.ClockRollback: {"clock_rollback", true},
	errs.Tampered:      {"tampered", false},
	errs.GraceExpired:  {"grace_expired", true},
	errs.Unavailable:   {"unavailable", true},
	errs.Protocol:      {"protocol", true},
	errs.Credentials:   {"credentials", false},
	errs.Storage:       {"storage", true},
	errs.NotExist:      {"not_exist", false},
	errs.Integrity:     {"integrity", false},
	errs.Failed:        {"failed", false},
	errs.Permission:    {"permission", false},
	errs.Busy:          {"busy", true},
	errs.Canceled:      {"canceled", true},
}

// refusalMessages are the license server's refusals that say more than
// their kind (translation keys: refusal.<reason>.title, .advice); the
// server's own sentence, naming for example the seat holders, is the
// detail.
var refusalMessages = map[string]bool{"seats_full": true, "revoked": true, "deactivated": true, "moved": true}

// explain turns an error of the license domain into what the window says.
func explain(err error) problem {
	if err == nil {
		return problem{}
	}
	m, ok := kindMessages[errs.KindOf(err)]
	if !ok {
		m = kindMessages[errs.Other]
	}
	base := "kind." + m.key + "."
	p := problem{
		Short:  tr(base + "short"),
		Title:  tr(base + "title"),
		Advice: tr(base + "advice"),
		Retry:  m.retry,
		Detail: err.Error(),
	}
	var r *licensing.Refusal
	if errors.As(err, &r) && refusalMessages[r.Reason] {
		p.Title, p.Advice = tr("refusal."+r.Reason+".title"), tr("refusal."+r.Reason+".advice")
	}
	return p
}
