package sandbox

import (
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// ErrCorruptState is wrapped (in an *fs.PathError naming the file) by New
// when the state file cannot be read back. The sandbox never overwrites such
// a file: it holds the credentials scripts may have been configured with.
var ErrCorruptState = errors.New("corrupt sandbox state (move the file away to start afresh)")

// stateVersion is bumped when the file layout changes incompatibly.
const stateVersion = 1

// maxUsageReports bounds the usage history kept in the state file, so a
// long-running demo does not grow it without end. The oldest go first.
const maxUsageReports = 1000

// state is everything the sandbox persists. It holds the sandbox's secret
// key and the vendor's private key, hence the 0600 file mode.
type state struct {
	Version int    `json:"version"`
	AK      string `json:"ak"`
	SK      string `json:"sk"`
	// VendorKey is the seed (RFC 8032 private key) of the Ed25519 key that
	// signs device licenses, standing in for the vendor's. A file written
	// before device licenses existed lacks it; New adds one and saves. It
	// never changes afterwards: licenses issued before a restart must keep
	// verifying.
	VendorKey []byte        `json:"vendor_key,omitempty"`
	Codes     []codeRecord  `json:"codes"`
	Usage     []UsageReport `json:"usage,omitempty"`
	// Manifest is what SetManifest set; nil announces the default manifest.
	Manifest *Manifest `json:"manifest,omitempty"`

	// CallbackKey is the accessKey the sandbox signs its callbacks with (the
	// vendor configures the same key). AdminToken authorizes the loopback
	// admin calls of `iscdesk sandbox release …`: only a reader of this file
	// (0600) has it. A file written before callbacks lacks both; New adds
	// them and saves.
	CallbackKey string `json:"callback_key,omitempty"`
	AdminToken  string `json:"admin_token,omitempty"`
	// VendorURL is where callbacks go; empty keeps them queued.
	VendorURL string `json:"vendor_url,omitempty"`
	// Outbox holds every callback not yet finished and the last
	// maxFinished finished ones, oldest first.
	Outbox []Callback `json:"callbacks,omitempty"`
	// Events are the getLicenseAsync event ids sent (the last maxEvents):
	// uploads for them are accepted.
	Events []string `json:"events,omitempty"`
	// Uploads are the uploads received (the last maxUploads).
	Uploads []Upload `json:"uploads,omitempty"`
	// FailUploads is how many of the next acceptable uploads are answered
	// CBC.0999 (fault injection).
	FailUploads int `json:"fail_uploads,omitempty"`
}

// codeRecord is one license code as the marketplace knows it. Times are UTC
// with whole seconds, the precision of the wire format.
type codeRecord struct {
	Code      string `json:"code"`
	Delivered bool   `json:"delivered"`
	// Status is the status the marketplace has set (ALIVE until a refund or
	// an explicit expiry); an activated ALIVE code past ExpireTime reports
	// EXPIRED without Status changing.
	Status      licensing.Status `json:"status"`
	TermSeconds int64            `json:"term_seconds"` // validity counted from activation
	ActivatedAt time.Time        `json:"activated_at,omitzero"`
	ExpireTime  time.Time        `json:"expire_time,omitzero"`
	ProductID   string           `json:"product_id"`
	OrderID     string           `json:"order_id"`
	Amount      float64          `json:"amount"`
	// AutoRenew renews the code for another term when its expiry comes and
	// sends refreshLicenseCode (RENEWAL); ReleaseAt, when set, releases it at
	// that time and sends releaseLicenseCode.
	AutoRenew bool      `json:"auto_renew,omitempty"`
	ReleaseAt time.Time `json:"release_at,omitzero"`
}

func (c *codeRecord) activated() bool { return !c.ActivatedAt.IsZero() }

func (c *codeRecord) term() time.Duration { return time.Duration(c.TermSeconds) * time.Second }

// effectiveStatus is what a query reports at now.
func (c *codeRecord) effectiveStatus(now time.Time) licensing.Status {
	if c.Status == licensing.StatusAlive && c.activated() && !now.Before(c.ExpireTime) {
		return licensing.StatusExpired
	}
	return c.Status
}

// stateName is the short name Codes and Print show.
func (c *codeRecord) stateName(now time.Time) string {
	switch {
	case !c.Delivered:
		return StateUndelivered
	case c.effectiveStatus(now) == licensing.StatusReleased:
		return StateReleased
	case c.effectiveStatus(now) == licensing.StatusExpired:
		return StateExpired
	case c.activated():
		return StateActive
	default:
		return StateReady
	}
}

func (c *codeRecord) license(now time.Time) licensing.License {
	l := licensing.License{
		Code:         c.Code,
		ExpireTime:   c.ExpireTime,
		ActivateTime: c.ActivatedAt,
		ProductID:    c.ProductID,
		OrderID:      c.OrderID,
		Amount:       c.Amount,
	}
	if c.activated() {
		l.Status = c.effectiveStatus(now)
	}
	return l
}

// find returns the index of code, or -1.
func (st *state) find(code string) int {
	return slices.IndexFunc(st.Codes, func(c codeRecord) bool { return c.Code == code })
}

// clone copies the state deeply enough for update: records are values, and
// usage reports, the vendor key and the manifest are never changed once set
// (they are replaced whole), so sharing them is safe.
func (st *state) clone() *state {
	c := *st
	c.Codes = slices.Clone(st.Codes)
	c.Usage = slices.Clone(st.Usage)
	c.Outbox = slices.Clone(st.Outbox)
	c.Uploads = slices.Clone(st.Uploads)
	c.Events = slices.Clone(st.Events)
	return &c
}

func (st *state) addUsage(reports ...UsageReport) {
	st.Usage = append(st.Usage, reports...)
	if extra := len(st.Usage) - maxUsageReports; extra > 0 {
		st.Usage = slices.Delete(st.Usage, 0, extra)
	}
}

func (st *state) validate() error {
	if st.Version != stateVersion {
		return fmt.Errorf("version %d, want %d", st.Version, stateVersion)
	}
	if st.AK == "" || st.SK == "" {
		return errors.New("credentials missing")
	}
	// The key's bytes never go into the message: the file may be shown.
	if st.VendorKey != nil && len(st.VendorKey) != ed25519.SeedSize {
		return fmt.Errorf("vendor key of %d bytes, want %d", len(st.VendorKey), ed25519.SeedSize)
	}
	if st.FailUploads < 0 {
		return errors.New("fail_uploads negative")
	}
	if st.VendorURL != "" {
		if err := checkVendorURL(st.VendorURL); err != nil {
			return err
		}
	}
	for _, c := range st.Outbox {
		switch c.State {
		case CallbackPending, CallbackDelivered, CallbackRefused, CallbackGaveUp:
		default:
			return fmt.Errorf("callback %s: unknown state %q", c.ID, c.State)
		}
		if c.ID == "" || len(c.Body) == 0 || c.Attempts < 0 {
			return fmt.Errorf("callback %q: id, body or attempts missing", c.ID)
		}
	}
	if st.Manifest != nil {
		if err := st.Manifest.validate(); err != nil {
			return fmt.Errorf("manifest: %v", err)
		}
	}
	seen := make(map[string]bool, len(st.Codes))
	for _, c := range st.Codes {
		if _, err := licensing.NormalizeCode(c.Code); err != nil {
			return fmt.Errorf("code %q: %v", c.Code, err)
		}
		if seen[c.Code] {
			return fmt.Errorf("code %s listed twice", c.Code)
		}
		seen[c.Code] = true
		if !validStatus(c.Status) {
			return fmt.Errorf("code %s: unknown status %q", c.Code, c.Status)
		}
		if c.activated() && c.ExpireTime.IsZero() {
			return fmt.Errorf("code %s: activated without an expiry", c.Code)
		}
	}
	return nil
}

func validStatus(s licensing.Status) bool {
	return s == licensing.StatusAlive || s == licensing.StatusExpired || s == licensing.StatusReleased
}

// newState makes fresh credentials and one demo code per interesting state.
func newState(now time.Time) (*state, error) {
	st := &state{
		Version:   stateVersion,
		AK:        randomString(20, upperAlnum),
		SK:        randomString(40, alnum),
		VendorKey: newVendorSeed(),
	}
	st.fillSecrets()
	now = now.UTC().Truncate(time.Second)
	demos := []CodeSpec{
		{}, // ready
		{}, // a second ready one, so a demo can activate twice
		{ActivatedAt: now.AddDate(0, 0, -30)},
		{Undelivered: true},
		{ActivatedAt: now.Add(-DefaultTerm - 30*24*time.Hour)}, // its year ended 30 days ago
		{ActivatedAt: now.AddDate(0, 0, -60), Status: licensing.StatusReleased},
	}
	for _, spec := range demos {
		rec, err := newRecord(spec, st)
		if err != nil {
			return nil, err
		}
		st.Codes = append(st.Codes, rec)
	}
	return st, nil
}

// newRecord turns a spec into a record, filling in the defaults.
func newRecord(spec CodeSpec, st *state) (codeRecord, error) {
	const op = "sandbox.AddCode"
	code := spec.Code
	if code == "" {
		code = randomCode()
	}
	code, err := licensing.NormalizeCode(code)
	if err != nil {
		return codeRecord{}, err
	}
	if st.find(code) >= 0 {
		return codeRecord{}, errs.E(op, errs.Invalid, fmt.Errorf("code %s exists already", code))
	}
	status := spec.Status
	if status == "" {
		status = licensing.StatusAlive
	}
	if !validStatus(status) {
		return codeRecord{}, errs.E(op, errs.Invalid, fmt.Errorf("unknown status %q", status))
	}
	if spec.Undelivered && !spec.ActivatedAt.IsZero() {
		return codeRecord{}, errs.E(op, errs.Invalid, errors.New("an undelivered code cannot be activated"))
	}
	rec := codeRecord{
		Code:        code,
		Delivered:   !spec.Undelivered,
		Status:      status,
		TermSeconds: int64(cmp.Or(spec.Term, DefaultTerm) / time.Second),
		ProductID:   cmp.Or(spec.ProductID, DemoProductID),
		OrderID:     cmp.Or(spec.OrderID, "CS"+randomString(14, upperAlnum)),
		Amount:      cmp.Or(spec.Amount, 1),
	}
	if !spec.ActivatedAt.IsZero() {
		rec.ActivatedAt = spec.ActivatedAt.UTC().Truncate(time.Second)
		rec.ExpireTime = rec.ActivatedAt.Add(rec.term())
	}
	return rec, nil
}

// readState loads the state file. A missing file is reported as
// fs.ErrNotExist; anything unreadable as ErrCorruptState.
func readState(path string) (*state, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, corrupt(path, err)
	}
	if err := st.validate(); err != nil {
		return nil, corrupt(path, err)
	}
	return &st, nil
}

func corrupt(path string, err error) error {
	return &fs.PathError{Op: "read sandbox state", Path: path, Err: fmt.Errorf("%w: %v", ErrCorruptState, err)}
}

// writeState replaces the state file atomically, so a reader (or a crash)
// sees the old file or the new one, never half of one. The file is 0600 from
// its first byte: it holds the secret key.
func writeState(path string, st *state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'), 0o600)
}

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	alnum      = upperAlnum + "abcdefghijklmnopqrstuvwxyz"
)

// randomString draws n characters uniformly from alphabet (at most 256
// characters) with crypto/rand, rejecting bytes that would bias the draw.
func randomString(n int, alphabet string) string {
	limit := 256 - 256%len(alphabet)
	var b strings.Builder
	buf := make([]byte, n)
	for b.Len() < n {
		rand.Read(buf)
		for _, v := range buf {
			if int(v) < limit && b.Len() < n {
				b.WriteByte(alphabet[int(v)%len(alphabet)])
			}
		}
	}
	return b.String()
}

// fillSecrets gives the state the callback key and admin token it lacks,
// and reports whether it did.
func (st *state) fillSecrets() bool {
	added := false
	if st.CallbackKey == "" {
		st.CallbackKey, added = randomString(32, alnum), true
	}
	if st.AdminToken == "" {
		st.AdminToken, added = randomString(43, alnum), true
	}
	return added
}

// newVendorSeed makes the seed of a fresh Ed25519 vendor key.
func newVendorSeed() []byte {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	return seed
}

// randomCode makes a code shaped like the marketplace's: PL and 30
// upper-case hex digits.
func randomCode() string {
	buf := make([]byte, 15)
	rand.Read(buf)
	return "PL" + strings.ToUpper(hex.EncodeToString(buf))
}

// formatTime renders t in the marketplace's compact UTC layout.
func formatTime(t time.Time) string { return t.UTC().Format(wire.TimeLayout) }
