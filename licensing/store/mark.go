package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/secret"
)

// MarkFile is the name of the clock mark's file copies.
const MarkFile = "clock.mark"

// accountMark is the clock mark's keyring entry (service secret.Service).
const accountMark = "clock-mark"

var (
	markMagic    = []byte("ICM1") // sealed clock mark, format 1
	markSealInfo = "iscdesk/clock-mark/v1"
)

const markSaltLen = 32

// Marks keeps the clock mark (licensing.Mark) in several places apart from
// the record: an entry of the OS keyring, where one exists, and files (the
// user's state folder, the iscdesk folder). Each copy is sealed like the
// record, HMAC-SHA256 with a key derived (HKDF) from random key material
// stored with it and the machine id, so an edited copy, or one copied from
// another machine, is ignored; LoadMark merges the copies it can read into
// the tightest (licensing.MergeMarks), so restoring an older copy, or
// deleting one, takes nothing back while another copy remains. SaveMark
// writes every copy, which also repairs one that was deleted or damaged.
type Marks struct {
	secrets   secret.Store // nil: no keyring copy
	machineID func() (string, error)
	files     []string
}

var _ licensing.MarkStore = (*Marks)(nil)

// NewMarks returns the mark kept in secrets (nil for none; a Store that
// answers secret.ErrUnavailable, no keyring service, is skipped) and in
// files. machineID nil means MachineID.
func NewMarks(secrets secret.Store, machineID func() (string, error), files ...string) *Marks {
	if machineID == nil {
		machineID = MachineID
	}
	return &Marks{secrets: secrets, machineID: machineID, files: files}
}

// markPlace is one copy of the mark.
type markPlace struct {
	name  string
	read  func(ctx context.Context) ([]byte, error)
	write func(ctx context.Context, blob []byte) error
}

func (s *Marks) places() []markPlace {
	var out []markPlace
	if s.secrets != nil {
		out = append(out, markPlace{
			name: "keyring entry " + accountMark,
			read: func(ctx context.Context) ([]byte, error) {
				v, err := s.secrets.Get(ctx, accountMark)
				if err != nil {
					return nil, err
				}
				return base64.StdEncoding.DecodeString(v)
			},
			write: func(ctx context.Context, blob []byte) error {
				return s.secrets.Set(ctx, accountMark, base64.StdEncoding.EncodeToString(blob))
			},
		})
	}
	for _, path := range s.files {
		out = append(out, markPlace{
			name:  path,
			read:  func(context.Context) ([]byte, error) { return os.ReadFile(path) },
			write: func(_ context.Context, blob []byte) error { return atomicfile.Write(path, blob, 0o600) },
		})
	}
	return out
}

// absent reports whether err means the copy is not there: no entry, no
// file, or no keyring service at all.
func absent(err error) bool {
	return errors.Is(err, secret.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, secret.ErrUnavailable)
}

// LoadMark merges every copy it can read. Copies that are missing count
// for nothing; copies that cannot be read or were edited are named in the
// error (kind Storage), beside what the others hold.
func (s *Marks) LoadMark(ctx context.Context) (licensing.Mark, error) {
	const op = "store.mark.load"
	id, err := s.machineID()
	if err != nil {
		return licensing.Mark{}, errs.E(op, errs.Storage, fmt.Errorf("machine id: %w", err))
	}
	var found []licensing.Mark
	var failed []error
	for _, p := range s.places() {
		blob, err := p.read(ctx)
		if err == nil {
			var m licensing.Mark
			if m, err = unsealMark(id, blob); err == nil {
				found = append(found, m)
				continue
			}
		}
		if absent(err) {
			continue
		}
		if errors.Is(err, context.Canceled) {
			return licensing.MergeMarks(found...), errs.E(op, errs.Canceled, err)
		}
		failed = append(failed, fmt.Errorf("%s: %w", p.name, err))
	}
	m := licensing.MergeMarks(found...)
	if len(failed) > 0 {
		return m, errs.E(op, errs.Storage, errors.Join(failed...))
	}
	return m, nil
}

// SaveMark writes m to every copy, each sealed afresh.
func (s *Marks) SaveMark(ctx context.Context, m licensing.Mark) error {
	const op = "store.mark.save"
	id, err := s.machineID()
	if err != nil {
		return errs.E(op, errs.Storage, fmt.Errorf("machine id: %w", err))
	}
	m.Version = licensing.MarkVersion
	var failed []error
	for _, p := range s.places() {
		blob, err := sealMark(id, m)
		if err == nil {
			err = p.write(ctx, blob)
		}
		if err != nil && !errors.Is(err, secret.ErrUnavailable) {
			failed = append(failed, fmt.Errorf("%s: %w", p.name, err))
		}
	}
	if len(failed) > 0 {
		return storageErr(op, errors.Join(failed...))
	}
	return nil
}

// sealMark renders m as magic | key material | machine hint | HMAC | JSON.
// The key material is fresh random bytes on every write: like the
// record's install secret it is no secret from the user who owns the copy
// (docs/architecture.md says what that leaves open); with the machine id
// it makes the seal detect edits and copies from another machine.
func sealMark(machineID string, m licensing.Mark) ([]byte, error) {
	payload, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	head := make([]byte, len(markMagic)+markSaltLen)
	copy(head, markMagic)
	if _, err := rand.Read(head[len(markMagic):]); err != nil {
		return nil, err
	}
	b := binding{secret: head[len(markMagic):], machineID: machineID}
	return b.sealPayload(head, markSealInfo, payload), nil
}

// unsealMark checks a copy's seal and decodes the mark.
func unsealMark(machineID string, blob []byte) (licensing.Mark, error) {
	headLen := len(markMagic) + markSaltLen
	if len(blob) < headLen || string(blob[:len(markMagic)]) != string(markMagic) {
		return licensing.Mark{}, errMalformed
	}
	b := binding{secret: blob[len(markMagic):headLen], machineID: machineID}
	payload, err := b.openPayload(blob, headLen, markSealInfo)
	if err != nil {
		return licensing.Mark{}, err
	}
	var m licensing.Mark
	if err := json.Unmarshal(payload, &m); err != nil {
		return licensing.Mark{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if m.Version != licensing.MarkVersion {
		return licensing.Mark{}, fmt.Errorf("%w: format %d, this client reads %d", errMalformed, m.Version, licensing.MarkVersion)
	}
	return m, nil
}
