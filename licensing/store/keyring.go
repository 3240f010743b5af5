package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/secret"
)

// Keyring accounts (service secret.Service).
const (
	accountSecret = "install-secret"
	accountHead   = "authorization"
)

func chunkAccount(gen uint64, i int) string { return fmt.Sprintf("authorization.%d.%d", gen, i) }

// head is the entry that commits a record: it names the generation of chunks
// that make up the current record and their hash. Writing chunks of a new
// generation first and the head last makes a save atomic: a crash before the
// head is written leaves the old record whole.
type head struct {
	Gen    uint64 `json:"gen"`
	Chunks int    `json:"chunks"`
	SHA256 string `json:"sha256"`
}

// KeyringStore keeps the record in the OS keyring (through a secret.Store),
// split into entries of at most secret.MaxValueBytes.
type KeyringStore struct {
	secrets   secret.Store
	machineID func() (string, error)
}

var _ licensing.RecordStore = (*KeyringStore)(nil)

// NewKeyringStore returns a store over secrets; machineID is MachineID in
// production and injected in tests.
func NewKeyringStore(secrets secret.Store, machineID func() (string, error)) *KeyringStore {
	return &KeyringStore{secrets: secrets, machineID: machineID}
}

// Kind returns "keyring".
func (k *KeyringStore) Kind() string { return "keyring" }

func storageErr(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		// The caller gave up (Ctrl-C): not a failure of the keyring.
		return errs.E(op, errs.Canceled, err)
	}
	return errs.E(op, errs.Storage, err)
}

// binding reads (or, with create, makes) the install secret.
func (k *KeyringStore) binding(ctx context.Context, create bool) (binding, error) {
	id, err := k.machineID()
	if err != nil {
		return binding{}, fmt.Errorf("machine id: %w", err)
	}
	s, err := k.secrets.Get(ctx, accountSecret)
	if errors.Is(err, secret.ErrNotFound) && create {
		if s, err = newSecret(); err == nil {
			err = k.secrets.Set(ctx, accountSecret, s)
		}
	}
	if err != nil {
		return binding{}, err
	}
	b, err := decodeSecret(s)
	if err != nil {
		return binding{}, err
	}
	return binding{secret: b, machineID: id}, nil
}

func (k *KeyringStore) head(ctx context.Context) (head, bool, error) {
	s, err := k.secrets.Get(ctx, accountHead)
	if errors.Is(err, secret.ErrNotFound) {
		return head{}, false, nil
	}
	if err != nil {
		return head{}, false, err
	}
	var h head
	if err := json.Unmarshal([]byte(s), &h); err != nil || h.Chunks < 1 || h.Chunks > 1000 {
		return head{}, true, errors.New("damaged")
	}
	return h, true, nil
}

// Load reads, checks and decodes the record.
func (k *KeyringStore) Load(ctx context.Context) (licensing.Record, error) {
	const op = "store.load"
	h, ok, err := k.head(ctx)
	if err != nil && ok {
		return licensing.Record{}, errs.E(op, errs.Tampered, errors.New("the cached activation is damaged or was edited: activate the license again"))
	}
	if err != nil {
		return licensing.Record{}, storageErr(op, err)
	}
	if !ok {
		return licensing.Record{}, errs.E(op, errs.NotActivated, errNoRecord)
	}
	var enc []byte
	for i := range h.Chunks {
		c, err := k.secrets.Get(ctx, chunkAccount(h.Gen, i))
		if errors.Is(err, secret.ErrNotFound) {
			return licensing.Record{}, errs.E(op, errs.Tampered, errors.New("part of the cached activation is missing: activate the license again"))
		}
		if err != nil {
			return licensing.Record{}, storageErr(op, err)
		}
		enc = append(enc, c...)
	}
	if sum := sha256.Sum256(enc); hex.EncodeToString(sum[:]) != h.SHA256 {
		return licensing.Record{}, errs.E(op, errs.Tampered, errors.New("the cached activation was edited (its parts do not match): activate the license again"))
	}
	blob, err := base64.StdEncoding.DecodeString(string(enc))
	if err != nil {
		return licensing.Record{}, errs.E(op, errs.Tampered, errors.New("the cached activation is damaged: activate the license again"))
	}
	b, err := k.binding(ctx, false)
	if errors.Is(err, secret.ErrNotFound) {
		return licensing.Record{}, errs.E(op, errs.Tampered, errors.New("the install secret of the cached activation is missing: activate the license again"))
	}
	if err != nil {
		return licensing.Record{}, storageErr(op, err)
	}
	return b.unseal(blob)
}

// Save seals r and commits it: chunks of a new generation, then the head,
// then the old generation's chunks are removed (best effort).
func (k *KeyringStore) Save(ctx context.Context, r licensing.Record) error {
	const op = "store.save"
	b, err := k.binding(ctx, true)
	if err != nil {
		return storageErr(op, err)
	}
	blob, err := b.seal(r)
	if err != nil {
		return storageErr(op, err)
	}
	old, hadOld, headErr := k.head(ctx)
	if headErr != nil && !hadOld {
		return storageErr(op, headErr)
	}
	enc := base64.StdEncoding.EncodeToString(blob)
	n := (len(enc) + secret.MaxValueBytes - 1) / secret.MaxValueBytes
	next := head{Gen: old.Gen + 1, Chunks: n}
	for i := range n {
		part := enc[i*secret.MaxValueBytes : min((i+1)*secret.MaxValueBytes, len(enc))]
		if err := k.secrets.Set(ctx, chunkAccount(next.Gen, i), part); err != nil {
			return storageErr(op, err)
		}
	}
	sum := sha256.Sum256([]byte(enc))
	next.SHA256 = hex.EncodeToString(sum[:])
	hb, _ := json.Marshal(next)
	if err := k.secrets.Set(ctx, accountHead, string(hb)); err != nil {
		return storageErr(op, err)
	}
	if hadOld && headErr == nil {
		for i := range old.Chunks {
			_ = k.secrets.Delete(ctx, chunkAccount(old.Gen, i))
		}
	}
	return nil
}

// Delete removes the head first (from then on no record exists), then the
// chunks and the install secret.
func (k *KeyringStore) Delete(ctx context.Context) error {
	const op = "store.delete"
	h, ok, headErr := k.head(ctx)
	if headErr != nil && !ok {
		return storageErr(op, headErr)
	}
	if err := k.secrets.Delete(ctx, accountHead); err != nil {
		return storageErr(op, err)
	}
	if ok && headErr == nil {
		for i := range h.Chunks {
			_ = k.secrets.Delete(ctx, chunkAccount(h.Gen, i))
		}
	}
	if err := k.secrets.Delete(ctx, accountSecret); err != nil {
		return storageErr(op, err)
	}
	return nil
}
