package sandbox

import (
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// DefaultTerm is how long a code stays valid after activation unless its
// CodeSpec says otherwise: one year, counted as 365 days.
const DefaultTerm = 365 * 24 * time.Hour

// DemoProductID is the product id of codes whose CodeSpec names none.
const DemoProductID = "OFFISANDBOXDEMO0001"

// The state names Codes and Print show.
const (
	StateReady       = "ready"       // delivered, not activated: activate answers 92020000
	StateActive      = "active"      // activated and ALIVE
	StateUndelivered = "undelivered" // activate answers 92020004
	StateExpired     = "expired"     // query answers EXPIRED
	StateReleased    = "released"    // refunded: query answers RELEASED
)

// Config configures a Server.
type Config struct {
	// StatePath is the JSON state file. It is created with fresh credentials
	// and demo codes when missing. Empty keeps the state in memory only,
	// which suits tests that need no persistence.
	StatePath string
	// Now is the server clock (signature window, activation and expiry
	// times); nil means time.Now. It must be safe for concurrent use.
	Now func() time.Time
	// Logger receives one record per request; nil discards them. Neither
	// the secret key nor the Authorization header is ever logged.
	Logger *slog.Logger

	// Retry is the callbacks' retry schedule; zero fields take the
	// marketplace's (Retry's doc).
	Retry Retry
	// Tick is how often the callback loop looks for due work; 0 means
	// DefaultTick.
	Tick time.Duration
	// HTTPClient sends the callbacks; nil means a client of its own.
	HTTPClient *http.Client
	// CallbackTimeout bounds every try of a callback; 0 means
	// CallbackTimeout (the marketplace's 5 s). Tests shorten it.
	CallbackTimeout time.Duration
}

// Server is the sandbox: its state and the HTTP handler answering from it.
// It is safe for concurrent use; every change is saved before it is
// answered.
type Server struct {
	path string
	now  func() time.Time
	log  *slog.Logger

	mu sync.Mutex // guards st and serialises writes of the state file
	st *state

	// vendor is the private key of st.VendorKey, derived once: the seed
	// never changes after New, and deriving costs a scalar multiplication.
	vendor ed25519.PrivateKey

	// changed is closed (and replaced) at every saved change, for
	// WaitCallback.
	changed chan struct{}
	// wake makes the callback loop look for due work now.
	wake chan struct{}
	// sendMu keeps one SendDue at a time, so a callback is never tried
	// twice at once.
	sendMu  sync.Mutex
	retry   Retry
	tick    time.Duration
	client  *http.Client
	timeout time.Duration
}

// DemoCode is a license code the sandbox knows and its current state name
// (StateReady, StateActive, …).
type DemoCode struct {
	Code  string
	State string
}

// CodeSpec describes a code for AddCode. The zero value is a delivered,
// not yet activated code with a random PL… code and a one-year term.
type CodeSpec struct {
	Code        string           // empty: a random PL code
	Undelivered bool             // activation answers 92020004 until Deliver
	ActivatedAt time.Time        // non-zero: activated already, at that time
	Term        time.Duration    // validity from activation; 0 means DefaultTerm
	Status      licensing.Status // empty means ALIVE
	ProductID   string           // empty means DemoProductID
	OrderID     string           // empty: a random CS… id
	Amount      float64          // 0 means 1
}

// UsageReport is one entry of a usage report the sandbox received.
type UsageReport struct {
	Received time.Time        `json:"received"`
	License  string           `json:"license"`
	Items    []wire.UsageItem `json:"items"`
	// ErrorCode and Reason say why the entry was refused (it is then listed
	// in the answer's data.failed); both are empty when it was accepted.
	ErrorCode string `json:"error_code,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// Open is New with only a state path.
func Open(statePath string) (*Server, error) { return New(Config{StatePath: statePath}) }

// New loads the state file, or creates it when missing. A file that exists
// but cannot be understood is an error wrapping ErrCorruptState; it is left
// untouched.
func New(cfg Config) (*Server, error) {
	s := &Server{path: cfg.StatePath, now: cfg.Now, log: cfg.Logger, retry: cfg.Retry.withDefaults(),
		tick: cmp.Or(cfg.Tick, DefaultTick), client: cfg.HTTPClient, timeout: cmp.Or(cfg.CallbackTimeout, CallbackTimeout),
		changed: make(chan struct{}), wake: make(chan struct{}, 1)}
	if s.client == nil {
		s.client = &http.Client{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	st, err := s.loadOrCreate()
	if err != nil {
		return nil, err
	}
	s.st = st
	s.vendor = ed25519.NewKeyFromSeed(st.VendorKey)
	return s, nil
}

func (s *Server) loadOrCreate() (*state, error) {
	if s.path != "" {
		st, err := readState(s.path)
		if err == nil && (st.VendorKey == nil || st.CallbackKey == "" || st.AdminToken == "") {
			if err := s.addKeys(st); err != nil {
				return nil, err
			}
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return st, err
		}
	}
	st, err := newState(s.now())
	if err != nil {
		return nil, err
	}
	if s.path == "" {
		return st, nil
	}
	if err := writeState(s.path, st); err != nil {
		return nil, err
	}
	s.log.Info("sandbox state created", "path", s.path, "codes", len(st.Codes))
	return st, nil
}

// addKeys gives a state file from before device licenses a vendor key, and
// one from before callbacks a callback key and an admin token, and saves it
// at once: a key that lived only in memory would change at the next start,
// and the licenses issued (or the vendor's configured callback key) would
// stop matching.
func (s *Server) addKeys(st *state) error {
	if st.VendorKey == nil {
		st.VendorKey = newVendorSeed()
	}
	st.fillSecrets()
	if err := writeState(s.path, st); err != nil {
		return fmt.Errorf("sandbox: save state with new keys: %w", err)
	}
	s.log.Info("sandbox state: keys added", "path", s.path)
	return nil
}

// update applies change to a copy of the state and makes the copy current
// only once it is saved, so a failed write leaves memory and disk agreeing.
// An error from change is returned as is and nothing is saved.
func (s *Server) update(change func(st *state) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.st.clone()
	if err := change(next); err != nil {
		return err
	}
	if s.path != "" {
		if err := writeState(s.path, next); err != nil {
			return fmt.Errorf("sandbox: save state: %w", err)
		}
	}
	s.st = next
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
	return nil
}

// view runs read under the lock.
func (s *Server) view(read func(st *state)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	read(s.st)
}

// Credentials returns the AK/SK clients must sign with.
func (s *Server) Credentials() aksk.Credentials {
	var c aksk.Credentials
	s.view(func(st *state) { c = aksk.Credentials{AK: st.AK, SK: st.SK} })
	return c
}

// lookupKey is the key lookup of aksk.Verify.
func (s *Server) lookupKey(ak string) (sk string, ok bool) {
	s.view(func(st *state) { sk, ok = st.SK, ak == st.AK })
	if !ok {
		sk = ""
	}
	return sk, ok
}

// Codes lists every code in the order they were added, with its state now.
func (s *Server) Codes() []DemoCode {
	now := s.now()
	var codes []DemoCode
	s.view(func(st *state) {
		codes = make([]DemoCode, len(st.Codes))
		for i := range st.Codes {
			codes[i] = DemoCode{Code: st.Codes[i].Code, State: st.Codes[i].stateName(now)}
		}
	})
	return codes
}

// Lookup returns what the sandbox holds about code. Status is empty while
// the code is not activated.
func (s *Server) Lookup(code string) (licensing.License, bool) {
	now := s.now()
	var (
		l  licensing.License
		ok bool
	)
	s.view(func(st *state) {
		if i := st.find(code); i >= 0 {
			l, ok = st.Codes[i].license(now), true
		}
	})
	return l, ok
}

// Usage returns the usage entries received, oldest first (at most the last
// 1000).
func (s *Server) Usage() []UsageReport {
	var u []UsageReport
	s.view(func(st *state) { u = slices.Clone(st.Usage) })
	return u
}

// AddCode adds a code and returns it (normalized, or generated when
// spec.Code is empty).
func (s *Server) AddCode(spec CodeSpec) (string, error) {
	var code string
	err := s.update(func(st *state) error {
		rec, err := newRecord(spec, st)
		if err != nil {
			return err
		}
		st.Codes = append(st.Codes, rec)
		code = rec.Code
		return nil
	})
	return code, err
}

// SetStatus sets the status the marketplace reports for code, as a refund
// (RELEASED) or an early expiry (EXPIRED) would. Setting ALIVE does not
// revive a code whose expiry time has passed; SetExpiry does. A code not yet
// activated keeps its new status: activating it then answers 92020003.
func (s *Server) SetStatus(code string, status licensing.Status) error {
	if !validStatus(status) {
		return errs.E("sandbox.SetStatus", errs.Invalid, fmt.Errorf("unknown status %q", status))
	}
	return s.changeCode("sandbox.SetStatus", code, func(_ *state, c *codeRecord) error {
		c.Status = status
		return nil
	})
}

// SetExpiry moves the expiry of an activated code.
func (s *Server) SetExpiry(code string, expire time.Time) error {
	return s.changeCode("sandbox.SetExpiry", code, func(_ *state, c *codeRecord) error {
		if !c.activated() {
			return errs.E("sandbox.SetExpiry", errs.NotActivated, fmt.Errorf("code %s", code))
		}
		c.ExpireTime = expire.UTC().Truncate(time.Second)
		return nil
	})
}

// Deliver marks an undelivered code as delivered, so it can be activated.
func (s *Server) Deliver(code string) error {
	return s.changeCode("sandbox.Deliver", code, func(_ *state, c *codeRecord) error {
		c.Delivered = true
		return nil
	})
}

func (s *Server) changeCode(op, code string, change func(st *state, c *codeRecord) error) error {
	return s.update(func(st *state) error {
		i := st.find(code)
		if i < 0 {
			return errs.E(op, errs.NotFound, fmt.Errorf("code %s", code))
		}
		return change(st, &st.Codes[i])
	})
}
