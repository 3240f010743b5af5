// Package keys keeps the vendor's signing keys of the license server: a
// ring in one 0600 JSON file of the server's folder, whose newest key signs
// activation tokens and device licenses, while keys rotated out stay
// published (GET /v1/keys) until their overlap ends, each newer key endorsed
// by the one before it so a desktop that pinned the old key can take up the
// new one (activation.VerifyEndorsement).
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

// DefaultOverlap is how long a rotated-out key stays valid by default: long
// enough for every desktop to have checked (and taken a token of the new
// key) within its grace period.
const DefaultOverlap = 30 * 24 * time.Hour

// FileName is the ring's file in the server's folder.
const FileName = "vendor-keys.json"

// key is one key of the file.
type key struct {
	Seed        []byte    `json:"seed"` // RFC 8032 private key seed
	Created     time.Time `json:"created"`
	NotAfter    time.Time `json:"not_after,omitzero"`    // set when rotated out
	Endorsement string    `json:"endorsement,omitempty"` // by the previous key
}

type file struct {
	Version int   `json:"version"`
	Keys    []key `json:"keys"` // oldest first; the last one signs
}

// Public is a published key.
type Public struct {
	Kid         string            `json:"kid"`
	Key         ed25519.PublicKey `json:"-"`
	PublicKey   string            `json:"public_key"` // standard base64
	NotAfter    *time.Time        `json:"not_after,omitempty"`
	Endorsement string            `json:"endorsement,omitempty"`
	Current     bool              `json:"current,omitempty"`
}

// Ring is the loaded key file. It is safe for concurrent use.
type Ring struct {
	path string
	mu   sync.RWMutex
	f    file
	sign ed25519.PrivateKey
}

// ErrExists is returned by Create when the file exists: a vendor key is
// never overwritten.
var ErrExists = errors.New("vendor key file exists already")

// Create writes a new ring with one fresh key at path (0600).
func Create(path string, now time.Time) (*Ring, error) {
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("%s: %w", path, ErrExists)
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	r := &Ring{path: path, f: file{Version: 1, Keys: []key{{Seed: seed, Created: now.UTC()}}}}
	if err := r.save(); err != nil {
		return nil, err
	}
	r.sign = ed25519.NewKeyFromSeed(seed)
	return r, nil
}

// Load reads the ring at path. On unix the file must not be readable by
// group or others.
func Load(path string) (*Ring, error) {
	if err := CheckPrivate(path); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f file
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%s: not a vendor key file: %v", path, err)
	}
	if f.Version != 1 || len(f.Keys) == 0 {
		return nil, fmt.Errorf("%s: not a vendor key file (version %d, %d keys)", path, f.Version, len(f.Keys))
	}
	for i, k := range f.Keys {
		if len(k.Seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("%s: key %d: seed of %d bytes", path, i, len(k.Seed))
		}
	}
	return &Ring{path: path, f: f, sign: ed25519.NewKeyFromSeed(f.Keys[len(f.Keys)-1].Seed)}, nil
}

func (r *Ring) save() error {
	raw, err := json.MarshalIndent(r.f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(r.path, append(raw, '\n'), 0o600)
}

// SigningKey is the current key (server.Signer).
func (r *Ring) SigningKey() ed25519.PrivateKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sign
}

// Current is the current public key.
func (r *Ring) Current() ed25519.PublicKey {
	return r.SigningKey().Public().(ed25519.PublicKey)
}

// Published lists the keys valid at now, the current one last.
func (r *Ring) Published(now time.Time) []Public {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Public
	for i, k := range r.f.Keys {
		current := i == len(r.f.Keys)-1
		if !current && !k.NotAfter.IsZero() && !now.Before(k.NotAfter) {
			continue
		}
		pub := ed25519.NewKeyFromSeed(k.Seed).Public().(ed25519.PublicKey)
		p := Public{Kid: token.KeyID(pub), Key: pub, PublicKey: token.EncodePublicKey(pub), Endorsement: k.Endorsement, Current: current}
		if !k.NotAfter.IsZero() {
			t := k.NotAfter
			p.NotAfter = &t
		}
		out = append(out, p)
	}
	return out
}

// Rotate makes a new current key, endorsed by the old one, which stays
// valid until now+overlap; keys whose overlap ended are dropped. It saves
// the file before the new key signs anything.
func (r *Ring) Rotate(now time.Time, overlap time.Duration) (Public, error) {
	if overlap <= 0 {
		overlap = DefaultOverlap
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return Public{}, err
	}
	next := ed25519.NewKeyFromSeed(seed)
	nextPub := next.Public().(ed25519.PublicKey)
	r.mu.Lock()
	defer r.mu.Unlock()
	endorsement, err := activation.Endorse(r.sign, nextPub, now)
	if err != nil {
		return Public{}, err
	}
	old := r.f
	var kept []key
	for i, k := range r.f.Keys {
		if i == len(r.f.Keys)-1 {
			k.NotAfter = now.Add(overlap).UTC()
		} else if !k.NotAfter.IsZero() && !now.Before(k.NotAfter) {
			continue
		}
		kept = append(kept, k)
	}
	r.f.Keys = append(kept, key{Seed: seed, Created: now.UTC(), Endorsement: endorsement})
	if err := r.save(); err != nil {
		r.f = old
		return Public{}, err
	}
	r.sign = next
	return Public{Kid: token.KeyID(nextPub), Key: nextPub, PublicKey: token.EncodePublicKey(nextPub), Endorsement: endorsement, Current: true}, nil
}

// Reload re-reads the file (another process rotated the key).
func (r *Ring) Reload() error {
	n, err := Load(r.path)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.f, r.sign = n.f, n.sign
	r.mu.Unlock()
	return nil
}

var errMode = errors.New("is readable by other users: chmod 600 it")

func modeError(path string, mode fs.FileMode) error {
	return fmt.Errorf("%s (mode %v) %w", path, mode.Perm(), errMode)
}

// Path is the ring's file.
func (r *Ring) Path() string { return r.path }
