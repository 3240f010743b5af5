// Package store keeps what the license service caches on this machine,
// sealed and bound to it. The cached activation (licensing.Record: the vendor
// server's signed token and the device's private key) is in the OS keyring
// where one exists, otherwise in an encrypted file in the user's config
// folder, never in a plain one; both implement licensing.RecordStore. The clock mark
// (licensing.Mark) is kept apart from it, in several places at once (Marks,
// a licensing.MarkStore). The licensing.Service serialises their use.
//
// The seal is an HMAC-SHA256 over the record with a key derived (HKDF) from a
// per-install random secret and the OS machine id (machineid.ProtectedID), so
// a record edited in any byte, or copied with its secret to a machine with
// another machine id, is refused, with a reason that tells the two apart (a
// short hint of the machine id travels beside the seal).
//
// It must not import fyne, the probes or the marketplace client: the
// fingerprint comes in as a value, and no marketplace credential is kept.
package store

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/denisbrodbeck/machineid"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
)

// appID personalises the protected machine id, so that the raw machine id
// never leaves the machine and other apps' ids do not match ours.
const appID = "iscdesk"

// MachineID returns this machine's protected id: HMAC-SHA256(machine id,
// appID) in hex. Stores bind records to it; the daily usage report sends it
// as the device id.
func MachineID() (string, error) { return machineid.ProtectedID(appID) }

var (
	magic        = []byte("ISR1") // sealed record, format 1
	errNoRecord  = errors.New("no activation is cached on this machine: activate a license code first")
	sealInfo     = "iscdesk/record-seal/v1"
	fileKeyInfo  = "iscdesk/record-file/v1"
	hintInfo     = "iscdesk/machine-hint/v1"
	secretLength = 32
)

const (
	hintLen = 8
	macLen  = sha256.Size
)

// binding derives the keys of one install on one machine.
type binding struct {
	secret    []byte // per-install random secret
	machineID string
}

func (b binding) key(info string) []byte {
	k, err := hkdf.Key(sha256.New, b.secret, []byte(b.machineID), info, 32)
	if err != nil {
		panic(err) // only for lengths over 255*32 bytes
	}
	return k
}

func (b binding) hint() []byte {
	h := hmac.New(sha256.New, []byte(hintInfo))
	h.Write([]byte(b.machineID))
	return h.Sum(nil)[:hintLen]
}

// seal renders r as magic | machine hint | HMAC | JSON.
func (b binding) seal(r licensing.Record) ([]byte, error) {
	payload, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return b.sealPayload(magic, sealInfo, payload), nil
}

// sealPayload renders head | machine hint | HMAC | payload, the HMAC keyed
// with info and covering everything else.
func (b binding) sealPayload(head []byte, info string, payload []byte) []byte {
	out := make([]byte, 0, len(head)+hintLen+macLen+len(payload))
	out = append(out, head...)
	out = append(out, b.hint()...)
	m := hmac.New(sha256.New, b.key(info))
	m.Write(out)
	m.Write(payload)
	out = m.Sum(out)
	return append(out, payload...)
}

// Why openPayload refused a blob.
var (
	errMalformed    = errors.New("malformed")
	errOtherMachine = errors.New("sealed on another machine")
	errEdited       = errors.New("edited")
)

// openPayload checks a blob of sealPayload whose head is headLen bytes
// long and returns its payload. It tells a blob from another machine from
// an edited one by the machine hint.
func (b binding) openPayload(blob []byte, headLen int, info string) ([]byte, error) {
	head := headLen + hintLen
	if len(blob) < head+macLen {
		return nil, errMalformed
	}
	m := hmac.New(sha256.New, b.key(info))
	m.Write(blob[:head])
	m.Write(blob[head+macLen:])
	if !hmac.Equal(m.Sum(nil), blob[head:head+macLen]) {
		if !hmac.Equal(blob[headLen:head], b.hint()) {
			return nil, errOtherMachine
		}
		return nil, errEdited
	}
	return blob[head+macLen:], nil
}

// unseal checks the seal and decodes the record.
func (b binding) unseal(blob []byte) (licensing.Record, error) {
	const op = "store.load"
	if len(blob) < len(magic) || string(blob[:len(magic)]) != string(magic) {
		return licensing.Record{}, errs.E(op, errs.Tampered, errors.New("the cached activation is damaged or was edited: activate the license again"))
	}
	payload, err := b.openPayload(blob, len(magic), sealInfo)
	switch err {
	case nil:
	case errOtherMachine:
		return licensing.Record{}, errs.E(op, errs.WrongMachine, errors.New("the cached activation was made on another machine (it was copied here): activate the license on this machine"))
	case errEdited:
		return licensing.Record{}, errs.E(op, errs.Tampered, errors.New("the cached activation was edited (its seal does not match): activate the license again"))
	default:
		return licensing.Record{}, errs.E(op, errs.Tampered, errors.New("the cached activation is damaged or was edited: activate the license again"))
	}
	var r licensing.Record
	if err := json.Unmarshal(payload, &r); err != nil {
		return licensing.Record{}, errs.E(op, errs.Tampered, fmt.Errorf("the cached activation cannot be read: %v", err))
	}
	if r.Version != licensing.RecordVersion {
		return licensing.Record{}, errs.E(op, errs.NotActivated, fmt.Errorf("the cached activation has format %d, this client reads %d: activate the license again", r.Version, licensing.RecordVersion))
	}
	return r, nil
}

func newSecret() (string, error) {
	b := make([]byte, secretLength)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func decodeSecret(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != secretLength {
		return nil, errors.New("the install secret is damaged")
	}
	return b, nil
}
