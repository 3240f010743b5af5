//go:build !darwin || cgo

package ui

import (
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

// kindMessages is the one place mapping licensing kinds to what people read
// (translation keys: kind.<name>.short, .title, .advice). The CLI maps the
// same kinds to exit codes in cmd/iscdesk/exit.go.
var kindMessages = map[licensing.Kind]struct {
	key   string
	retry bool
}{
	licensing.Other:         {"other", true},
	licensing.Invalid:       {"invalid", false},
	licensing.NotFound:      {"not_found", false},
	licensing.NotDelivered:  {"not_delivered", true},
	licensing.NotActivated:  {"not_activated", false},
	licensing.Expired:       {"expired", false},
	licensing.Released:      {"released", false},
	licensing.WrongMachine:  {"wrong_machine", false},
	licensing.ClockRollback: {"clock_rollback", true},
	licensing.Tampered:      {"tampered", false},
	licensing.GraceExpired:  {"grace_expired", true},
	licensing.Unavailable:   {"unavailable", true},
	licensing.Protocol:      {"protocol", true},
	licensing.Credentials:   {"credentials", false},
	licensing.Storage:       {"storage", true},
}

// explain turns an error of the license domain into what the window says.
func explain(err error) problem {
	if err == nil {
		return problem{}
	}
	m, ok := kindMessages[licensing.KindOf(err)]
	if !ok {
		m = kindMessages[licensing.Other]
	}
	base := "kind." + m.key + "."
	return problem{
		Short:  tr(base + "short"),
		Title:  tr(base + "title"),
		Advice: tr(base + "advice"),
		Retry:  m.retry,
		Detail: err.Error(),
	}
}
