package wiring

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/secret"
	"github.com/iscdesk/iscdesk/licensing/store"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/token/activation"
)

// Issue 11, finding 6, and issue 12's tampering: the cached activation
// forged or rolled back by its user, through the wiring both binaries use,
// over the real stores: the encrypted file, the keyring (in memory, and the
// real one inside `make test`'s private D-Bus session with gnome-keyring).

// The names docs/cli.md publishes: the record's keyring entries and files,
// and the clock mark's.
const (
	accountHead   = "authorization"
	accountSecret = "install-secret"
	accountMark   = "clock-mark"
	markFile      = "clock.mark"
)

var recordFiles = []string{"authorization.sealed", "install.secret"}

// backend is where a test's authorization is kept.
type backend struct {
	name    string
	secrets func(t *testing.T) secret.Store
}

var backends = []backend{
	{"file", func(*testing.T) secret.Store {
		return &secret.Memory{Fail: fmt.Errorf("%w: no bus", secret.ErrUnavailable)}
	}},
	{"keyring", func(*testing.T) secret.Store { return &secret.Memory{} }},
	{"gnome-keyring", func(t *testing.T) secret.Store {
		if os.Getenv("ISCDESK_REAL_KEYRING") != "1" {
			t.Skip("ISCDESK_REAL_KEYRING=1 not set (make test sets it inside a private D-Bus session)")
		}
		k := secret.Keyring{Service: "iscdesk-test-wiring", Timeout: 10 * time.Second}
		clearKeyring(k)
		t.Cleanup(func() { clearKeyring(k) })
		return k
	}},
}

// clearKeyring removes what a test may have left in the real keyring.
func clearKeyring(k secret.Store) {
	ctx := context.Background()
	for _, a := range []string{accountHead, accountSecret, accountMark} {
		_ = k.Delete(ctx, a)
	}
	for gen := range 8 {
		for i := range 3 {
			_ = k.Delete(ctx, fmt.Sprintf("%s.%d.%d", accountHead, gen, i))
		}
	}
}

// activated is an Env over b with a code of a fresh vendor server
// activated.
func activated(t *testing.T, b backend) (e *Env, srv *vendortest.Server, code string) {
	// Every check asks the marketplace, so a release shows at once.
	srv = vendortest.Start(t, vendortest.Options{Config: server.Config{QueryInterval: time.Nanosecond}})
	e = testEnv(t, serverEnv(srv))
	e.Secrets = b.secrets(t)
	code = srv.Code(t, 1)
	st, err := e.Licenses().Activate(context.Background(), code)
	if err != nil || !st.Verdict.Valid() || st.Storage != b.storage() {
		t.Fatalf("activate: %v %v, storage %q", err, st.Verdict.Err, st.Storage)
	}
	return e, srv, code
}

func (b backend) storage() string {
	if b.name == "file" {
		return "file"
	}
	return "keyring"
}

// another is the same user's next process: a new Env over the same places.
func another(e *Env) *Env {
	return &Env{Getenv: e.Getenv, Paths: e.Paths, Secrets: e.Secrets, MachineID: e.MachineID, Fingerprint: e.Fingerprint}
}

// recordSnapshot is a copy of the record as its user can take one: the
// store's files, or its keyring entries (the head, its parts, the install
// secret).
type recordSnapshot struct {
	files   map[string][]byte
	entries map[string]string
}

func snapshotRecord(t *testing.T, e *Env, b backend) recordSnapshot {
	t.Helper()
	ctx := context.Background()
	s := recordSnapshot{files: map[string][]byte{}, entries: map[string]string{}}
	if b.name == "file" {
		for _, n := range recordFiles {
			data, err := os.ReadFile(filepath.Join(e.DataDir(), n))
			if err != nil {
				t.Fatal(err)
			}
			s.files[n] = data
		}
		return s
	}
	h, err := e.Secrets.Get(ctx, accountHead)
	if err != nil {
		t.Fatal(err)
	}
	var head struct{ Gen, Chunks int }
	if err := json.Unmarshal([]byte(h), &head); err != nil {
		t.Fatal(err)
	}
	accounts := []string{accountHead, accountSecret}
	for i := range head.Chunks {
		accounts = append(accounts, fmt.Sprintf("%s.%d.%d", accountHead, head.Gen, i))
	}
	for _, a := range accounts {
		v, err := e.Secrets.Get(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		s.entries[a] = v
	}
	return s
}

func (s recordSnapshot) restore(t *testing.T, e *Env) {
	t.Helper()
	for n, data := range s.files {
		if err := os.WriteFile(filepath.Join(e.DataDir(), n), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for a, v := range s.entries {
		if err := e.Secrets.Set(context.Background(), a, v); err != nil {
			t.Fatal(err)
		}
	}
}

func wantVerdict(t *testing.T, what string, st licensing.State, err error, kind errs.Kind) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if st.Verdict.Valid() || errs.KindOf(st.Verdict.Err) != kind {
		t.Fatalf("%s: verdict %v, want kind %v", what, st.Verdict.Err, kind)
	}
}

// recordStore is the store of e's record, to edit it as its user can: the
// install secret sits beside the record, so re-sealing is open to them.
func recordStore(e *Env, b backend) licensing.RecordStore {
	if b.name == "file" {
		return store.NewFileStore(e.DataDir(), e.MachineID)
	}
	return store.NewKeyringStore(e.Secrets, e.MachineID)
}

// editRecord loads e's record, changes it and seals it again.
func editRecord(t *testing.T, e *Env, b backend, edit func(r *licensing.Record)) {
	t.Helper()
	ctx := context.Background()
	st := recordStore(e, b)
	r, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	edit(&r)
	if err := st.Save(ctx, r); err != nil {
		t.Fatal(err)
	}
}

// Tampering (issue 12, acceptance): the cached activation edited or
// re-sealed by its user, copied to another machine, revoked by support, or
// past its check_by: each refused, with its own reason, by a later process
// over the real stores.
func TestTamperedActivationRefused(t *testing.T) {
	otherMachine := devinfo.Render(devinfo.Components{MAC: []string{"0A:00:00:00:00:09"}, Disk: []string{"OTHERDISK"}, Board: "OTHERBOARD", CPU: "CPU"})
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			for _, c := range []struct {
				name   string
				tamper func(t *testing.T, e *Env, srv *vendortest.Server) *Env // returns the process that checks
				kind   errs.Kind
				reason string
			}{
				{"edited token", func(t *testing.T, e *Env, srv *vendortest.Server) *Env {
					editRecord(t, e, b, func(r *licensing.Record) {
						c, err := activation.Parse(r.Token)
						if err != nil {
							t.Fatal(err)
						}
						c.Expires, c.CheckBy = time.Now().AddDate(50, 0, 0).Unix(), time.Now().AddDate(50, 0, 0).Unix()
						payload, _ := json.Marshal(c)
						p := strings.Split(r.Token, ".")
						r.Token = p[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + p[2]
					})
					return another(e)
				}, errs.Tampered, "edited"},
				{"token signed by another key", func(t *testing.T, e *Env, srv *vendortest.Server) *Env {
					editRecord(t, e, b, func(r *licensing.Record) {
						c, _ := activation.Parse(r.Token)
						_, other, _ := ed25519.GenerateKey(nil)
						var err error
						if r.Token, err = activation.Sign(other, c); err != nil {
							t.Fatal(err)
						}
					})
					return another(e)
				}, errs.Tampered, "server_key"},
				{"copied to another fingerprint", func(t *testing.T, e *Env, srv *vendortest.Server) *Env {
					copied := another(e)
					copied.Fingerprint = func(context.Context) devinfo.Fingerprint { return otherMachine }
					return copied
				}, errs.WrongMachine, "bound to another machine"},
				{"token without its device key", func(t *testing.T, e *Env, srv *vendortest.Server) *Env {
					editRecord(t, e, b, func(r *licensing.Record) {
						_, own, _ := ed25519.GenerateKey(nil)
						r.DeviceKey = own.Seed()
					})
					return another(e)
				}, errs.Tampered, "another installation"},
				{"revoked activation", func(t *testing.T, e *Env, srv *vendortest.Server) *Env {
					st, err := e.Licenses().Status(ctx, false)
					if err != nil {
						t.Fatal(err)
					}
					if err := srv.Service.Revoke(ctx, st.Record.ActivationID, "chargeback"); err != nil {
						t.Fatal(err)
					}
					if st, err := e.Licenses().Status(ctx, true); err != nil || !strings.Contains(st.Verdict.Reason(), "chargeback") {
						t.Fatalf("the online check: %v %v", err, st.Verdict.Err)
					}
					return another(e)
				}, errs.NotActivated, "revoked"},
				{"check_by passed", func(t *testing.T, e *Env, srv *vendortest.Server) *Env {
					later := another(e)
					later.Licenses().Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
					return later
				}, errs.GraceExpired, "allowed working offline until"},
			} {
				t.Run(c.name, func(t *testing.T) {
					e, srv, _ := activated(t, b)
					st, err := c.tamper(t, e, srv).Licenses().Status(ctx, false)
					wantVerdict(t, c.name, st, err, c.kind)
					if !strings.Contains(st.Verdict.Reason(), c.reason) {
						t.Errorf("%s: reason %q lacks %q", c.name, st.Verdict.Reason(), c.reason)
					}
				})
			}
		})
	}
}

// A copy of the record taken before the server said RELEASED, restored
// after: refused, by a later process too, and deleting any one copy of the
// clock mark is not enough.
func TestRestoredRecordAfterReleaseRefused(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			e, srv, code := activated(t, b)
			alive := snapshotRecord(t, e, b)
			if err := srv.Sandbox.SetStatus(code, licensing.StatusReleased); err != nil {
				t.Fatal(err)
			}
			st, err := e.Licenses().Status(ctx, true)
			wantVerdict(t, "the check that learns the release", st, err, errs.Released)

			alive.restore(t, e)
			st, err = another(e).Licenses().Status(ctx, false)
			wantVerdict(t, "the restored ALIVE copy", st, err, errs.Released)

			copies := markCopies(t, e, b)
			for name := range copies {
				restoreMarks(t, e, copies)
				deleteMark(t, e, name)
				st, err := another(e).Licenses().Status(ctx, false)
				wantVerdict(t, "the restored copy with the mark's "+name+" deleted", st, err, errs.Released)
			}
		})
	}
}

// markCopies reads the clock mark's copies: the state folder's file, the
// one beside the settings, and the keyring entry where a keyring exists.
func markCopies(t *testing.T, e *Env, b backend) map[string][]byte {
	t.Helper()
	copies := map[string][]byte{}
	for _, p := range []string{filepath.Join(e.DataDir(), "state", markFile), filepath.Join(e.DataDir(), markFile)} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("a copy of the clock mark: %v", err)
		}
		copies[p] = data
	}
	if b.name != "file" {
		v, err := e.Secrets.Get(context.Background(), accountMark)
		if err != nil {
			t.Fatalf("the clock mark's keyring entry: %v", err)
		}
		copies[accountMark] = []byte(v)
	}
	return copies
}

func restoreMarks(t *testing.T, e *Env, copies map[string][]byte) {
	t.Helper()
	for name, data := range copies {
		var err error
		if name == accountMark {
			err = e.Secrets.Set(context.Background(), accountMark, string(data))
		} else {
			err = os.WriteFile(name, data, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func deleteMark(t *testing.T, e *Env, name string) {
	t.Helper()
	var err error
	if name == accountMark {
		err = e.Secrets.Delete(context.Background(), accountMark)
	} else {
		err = os.Remove(name)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}
