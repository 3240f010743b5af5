// Package licensing is the license domain: the license state the marketplace
// reports (through the vendor server), the cached activation (Record: the
// vendor server's signed activation token and this device's key) with its
// offline token rules, the clock mark (Mark) that this machine keeps apart
// from it, and the Service that runs the activation, validation and
// deactivation flows against the vendor license server, one per process.
// Its adapters live in sibling packages: the desktop's (the record stores,
// the server's client in remote, the keyring in secret), and the vendor
// server's (the marketplace client and its request signer, the local
// marketplace sandbox), which the desktop's never use.
//
// Nothing here or below imports the GUI toolkit, the sdk or the fingerprint
// probes (only their value types, package devinfo).
package licensing

import (
	"fmt"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// Status is the marketplace status of a license code, and on the desktop
// the state of its activation as the vendor server last gave it.
type Status string

// Marketplace statuses.
const (
	StatusAlive    Status = "ALIVE"
	StatusExpired  Status = "EXPIRED"
	StatusReleased Status = "RELEASED"
)

// States of an activation that the vendor server refused at a check: the
// seat was freed (deactivated), support revoked it, or the machine was
// activated again with another device key (moved).
const (
	StatusDeactivated Status = "DEACTIVATED"
	StatusRevoked     Status = "REVOKED"
	StatusMoved       Status = "MOVED"
)

// License is what the marketplace says about a license code.
type License struct {
	Code         string
	Status       Status
	ExpireTime   time.Time // UTC; zero when unknown
	ActivateTime time.Time // UTC; zero when unknown
	ProductID    string
	OrderID      string
	Amount       float64
}

// MaxCodeLen is the longest license code the marketplace accepts.
const MaxCodeLen = 64

// NormalizeCode trims a license code as typed and checks its form: 1 to 64
// characters, letters, digits, '-' and '_'. Anything else is an errs.Invalid error
// and must not be sent.
func NormalizeCode(code string) (string, error) {
	c := strings.TrimSpace(code)
	if c == "" {
		return "", errs.E("license code", errs.Invalid, fmt.Errorf("empty"))
	}
	if len(c) > MaxCodeLen {
		return "", errs.E("license code", errs.Invalid, fmt.Errorf("%d characters, at most %d", len(c), MaxCodeLen))
	}
	pos := 0
	for _, r := range c {
		pos++
		if !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return "", errs.E("license code", errs.Invalid, fmt.Errorf("character %q at position %d: only letters, digits, '-' and '_' are allowed", r, pos))
		}
	}
	return c, nil
}
