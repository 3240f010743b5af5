package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
)

// File names in the store's folder.
const (
	fileRecord = "authorization.sealed"
	fileSecret = "install.secret"
)

var fileMagic = []byte("ISF1")

// FileStore keeps the record in an AES-256-GCM encrypted file (key derived
// from the install secret and the machine id), for machines with no OS
// keyring service. Files are written atomically with mode 0600.
type FileStore struct {
	dir       string
	machineID func() (string, error)
}

var _ licensing.RecordStore = (*FileStore)(nil)

// NewFileStore returns a store in dir (created 0700 when needed).
func NewFileStore(dir string, machineID func() (string, error)) *FileStore {
	return &FileStore{dir: dir, machineID: machineID}
}

// Kind returns "file".
func (f *FileStore) Kind() string { return "file" }

func (f *FileStore) binding(create bool) (binding, error) {
	id, err := f.machineID()
	if err != nil {
		return binding{}, err
	}
	p := filepath.Join(f.dir, fileSecret)
	s, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) && create {
		var hexSecret string
		if hexSecret, err = newSecret(); err == nil {
			s = []byte(hexSecret)
			err = atomicfile.Write(p, s, 0o600)
		}
	}
	if err != nil {
		return binding{}, err
	}
	b, err := decodeSecret(string(s))
	if err != nil {
		return binding{}, err
	}
	return binding{secret: b, machineID: id}, nil
}

func (f *FileStore) aead(b binding) (cipher.AEAD, error) {
	block, err := aes.NewCipher(b.key(fileKeyInfo))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Load decrypts and unseals the record.
func (f *FileStore) Load(_ context.Context) (licensing.Record, error) {
	const op = "store.load"
	data, err := os.ReadFile(filepath.Join(f.dir, fileRecord))
	if errors.Is(err, fs.ErrNotExist) {
		return licensing.Record{}, errs.E(op, errs.NotActivated, errNoRecord)
	}
	if err != nil {
		return licensing.Record{}, storageErr(op, err)
	}
	b, err := f.binding(false)
	if errors.Is(err, fs.ErrNotExist) {
		return licensing.Record{}, errs.E(op, errs.Tampered, errors.New("the install secret of the cached activation is missing: activate the license again"))
	}
	if err != nil {
		return licensing.Record{}, storageErr(op, err)
	}
	aead, err := f.aead(b)
	if err != nil {
		return licensing.Record{}, storageErr(op, err)
	}
	ns, pre := aead.NonceSize(), len(fileMagic)+hintLen
	if len(data) < pre+ns || string(data[:len(fileMagic)]) != string(fileMagic) {
		return licensing.Record{}, errs.E(op, errs.Tampered, errors.New("the cached activation file is damaged: activate the license again"))
	}
	nonce := data[pre : pre+ns]
	blob, err := aead.Open(nil, nonce, data[pre+ns:], data[:pre])
	if err != nil {
		// The key depends on the machine id, so a copied file fails here
		// too; the hint in the clear header tells which it was.
		if !hmac.Equal(data[len(fileMagic):pre], b.hint()) {
			return licensing.Record{}, errs.E(op, errs.WrongMachine, errors.New("the cached activation file was made on another machine (it was copied here): activate the license on this machine"))
		}
		return licensing.Record{}, errs.E(op, errs.Tampered, errors.New("the cached activation file was edited: activate the license again"))
	}
	return b.unseal(blob)
}

// Save seals, encrypts and atomically writes the record.
func (f *FileStore) Save(_ context.Context, r licensing.Record) error {
	const op = "store.save"
	b, err := f.binding(true)
	if err != nil {
		return storageErr(op, err)
	}
	blob, err := b.seal(r)
	if err != nil {
		return storageErr(op, err)
	}
	aead, err := f.aead(b)
	if err != nil {
		return storageErr(op, err)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return storageErr(op, err)
	}
	header := append(append([]byte{}, fileMagic...), b.hint()...)
	out := aead.Seal(append(header, nonce...), nonce, blob, header)
	if err := atomicfile.Write(filepath.Join(f.dir, fileRecord), out, 0o600); err != nil {
		return storageErr(op, err)
	}
	return nil
}

// Delete removes the record and the install secret.
func (f *FileStore) Delete(_ context.Context) error {
	for _, name := range []string{fileRecord, fileSecret} {
		if err := os.Remove(filepath.Join(f.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return storageErr("store.delete", err)
		}
	}
	return nil
}
