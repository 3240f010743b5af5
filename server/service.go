package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/token/activation"
)

// Signer holds the vendor key that signs tokens and device licenses
// (server/keys.Ring).
type Signer interface {
	SigningKey() ed25519.PrivateKey
}

// Deps are what a Service talks to.
type Deps struct {
	Store       Store
	Marketplace Marketplace
	Signer      Signer
	Now         func() time.Time // nil: time.Now
	Logger      *slog.Logger     // nil: discard
	// CallbackKey verifies the marketplace's callbacks (its accessKey); ""
	// refuses every callback.
	CallbackKey string
	// Uploader delivers getLicenseAsync's device licenses; nil leaves them
	// queued.
	Uploader Uploader
	// ObserveUpload, when set, is told each upload attempt's state and code
	// (metrics).
	ObserveUpload func(state, code string)
}

// Service runs the use cases. One per process; safe for concurrent use.
type Service struct {
	cfg    Config
	store  Store
	mkt    Marketplace
	signer Signer
	now    func() time.Time
	log    *slog.Logger
	// upstream coalesces the marketplace calls about one code made at once
	// in this process (200 devices activating one code ask upstream once).
	upstream singleflight.Group

	callbackKey   string
	uploader      Uploader
	observeUpload func(state, code string)
	// id names this process as the holder of upload leases.
	id string
}

// New checks cfg and builds a Service.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, errs.E("server config", errs.Invalid, err)
	}
	if d.Store == nil || d.Marketplace == nil || d.Signer == nil {
		return nil, errs.Errorf("server config", errs.Invalid, "store, marketplace and signer are required")
	}
	s := &Service{cfg: cfg.withDefaults(), store: d.Store, mkt: d.Marketplace, signer: d.Signer, now: d.Now, log: d.Logger,
		callbackKey: d.CallbackKey, uploader: d.Uploader, observeUpload: d.ObserveUpload, id: newProcessID()}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Config returns the policy in force (defaults applied).
func (s *Service) Config() Config { return s.cfg }

// Grant is what a successful activate or check hands the device.
type Grant struct {
	Token      string
	Activation Activation
	Code       Code
	Claims     activation.Claims
}

// grant signs a fresh activation token for a, an active activation of the
// usable code c.
func (s *Service) grant(a Activation, c Code, now time.Time) (Grant, error) {
	p := s.cfg.product(c.ProductID)
	checkBy := now.Add(p.grace())
	exp := c.ExpireTime
	if exp.IsZero() {
		// The marketplace gave no expiry: the token lives as long as its grace.
		exp = checkBy
	}
	cl := activation.Claims{
		Issuer:       s.cfg.Issuer,
		ActivationID: a.ID,
		Product:      c.ProductID,
		OrderID:      c.OrderID,
		CodeHash:     c.Hash,
		Fingerprint:  a.Fingerprint,
		DeviceKey:    activation.Thumbprint(a.DeviceKey),
		Status:       activation.StatusAlive,
		Expires:      exp.Unix(),
		CheckBy:      checkBy.Unix(),
		IssuedAt:     now.Unix(),
		ActivatedAt:  a.CreatedAt.Unix(),
		Machine:      a.MachineID,
	}
	tok, err := activation.Sign(s.signer.SigningKey(), cl)
	if err != nil {
		return Grant{}, errs.E("sign", errs.Other, err)
	}
	return Grant{Token: tok, Activation: a, Code: c, Claims: cl}, nil
}

// storeErr turns a store failure into an error of kind Unavailable (the
// database could not be reached or failed) unless it has a kind.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return errs.E(op, errs.Canceled, err)
	}
	if errs.KindOf(err) != errs.Other {
		return errs.E(op, errs.Other, err)
	}
	return errs.E(op, errs.Unavailable, err)
}

// newID is an activation id: "act_" and 128 random bits in hex.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "act_" + hex.EncodeToString(b)
}

// newProcessID names this Service among the processes sharing a database.
func newProcessID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "srv_" + hex.EncodeToString(b)
}

// CodeLabel names a code in logs without giving it away: its first four
// characters and a prefix of its hash.
func CodeLabel(code string) string {
	p := code
	if len(p) > 4 {
		p = p[:4]
	}
	return p + "…" + activation.CodeHash(code)[:8]
}
