package server

import (
	"fmt"
	"math"
	"time"
)

// Defaults of Config and Product.
const (
	DefaultQueryInterval = 24 * time.Hour
	DefaultGraceDays     = 7
	DefaultMaxClockSkew  = 5 * time.Minute
	DefaultIssuer        = "iscdesk-server"
	// Floating seats (license_model "floating").
	DefaultLeaseTTL      = 10 * time.Minute
	DefaultHeartbeat     = 2 * time.Minute
	DefaultMaxBorrowDays = 7
	MaxBorrowDaysLimit   = 90
	// DefaultOfflineRequestTTL is how long an air-gapped request file may
	// travel before the server answers it (its nonce is remembered as long).
	DefaultOfflineRequestTTL = 30 * 24 * time.Hour
	// MaxOfflineRequestTTL bounds OfflineRequestTTL.
	MaxOfflineRequestTTL = 366 * 24 * time.Hour
)

// License models of a Product.
const (
	// ModelNodeLocked: each activation binds a seat (the default).
	ModelNodeLocked = "node_locked"
	// ModelFloating: activations bind no seat; a running program holds a
	// lease from a pool of amount × seat_multiplier, renewed by heartbeat.
	ModelFloating = "floating"
)

// Product is the seat policy of one marketplace product.
type Product struct {
	// SeatMultiplier: a code of amount N binds N × SeatMultiplier devices
	// (node-locked). 0 means 1.
	SeatMultiplier float64 `json:"seat_multiplier,omitempty"`
	// GraceDays: a token stays usable offline this many days after the last
	// successful check (its check_by). 0 means DefaultGraceDays.
	GraceDays int `json:"grace_days,omitempty"`
	// ReportIDs reports the activation ids of the devices that checked in a
	// day instead of their number (active_num).
	ReportIDs bool `json:"report_ids,omitempty"`
	// LicenseModel is ModelNodeLocked ("" too) or ModelFloating.
	LicenseModel string `json:"license_model,omitempty"`
	// MaxBorrowDays caps a borrowed lease of a floating product (0:
	// DefaultMaxBorrowDays; -1: no borrowing).
	MaxBorrowDays int `json:"max_borrow_days,omitempty"`

	// CallbackURLs is how the seller center calls this product's server:
	// "one" (default: one URL for every event, routed on the body's
	// activity) or "per_event" (one URL per event: the path names it).
	CallbackURLs string `json:"callback_urls,omitempty"`
	// CallbackSignature is where the marketplace's callbacks carry their
	// signature: "query" (default: signature, timestamp, nonce appended to
	// the URL) or "header" (x-sign, x-timestamp, x-nonce over accessKey +
	// nonce + timestamp + body, as some kit interfaces send).
	CallbackSignature string `json:"callback_signature,omitempty"`
	// Periodic: the product is sold for a term, so a getLicenseAsync
	// without an expireTime is refused (000902).
	Periodic bool `json:"periodic,omitempty"`
	// AsyncQuota caps the devices (distinct fingerprints) one instance gets
	// device licenses for through getLicenseAsync (000900 beyond); 0: no
	// cap.
	AsyncQuota int `json:"async_quota,omitempty"`
}

// Floating reports whether the product lends leases instead of binding seats.
func (p Product) Floating() bool { return p.LicenseModel == ModelFloating }

// borrowDays is the longest borrow the product allows (0: none).
func (p Product) borrowDays() int {
	switch {
	case p.MaxBorrowDays < 0:
		return 0
	case p.MaxBorrowDays == 0:
		return DefaultMaxBorrowDays
	}
	return p.MaxBorrowDays
}

// The values of Product.CallbackURLs.
const (
	CallbackURLsOne      = "one"
	CallbackURLsPerEvent = "per_event"

	CallbackSignatureQuery  = "query"
	CallbackSignatureHeader = "header"
)

// Config is the policy of a Service.
type Config struct {
	// Products by marketplace product id; Default applies to the others.
	Products map[string]Product
	Default  Product
	// QueryInterval: a code is asked of the marketplace at most once per
	// interval, however many devices check (default DefaultQueryInterval).
	QueryInterval time.Duration
	// MaxClockSkew: a signed request's time may differ this much from the
	// server's (default DefaultMaxClockSkew); nonces are remembered twice as
	// long.
	MaxClockSkew time.Duration
	// Issuer is the iss claim of the tokens (default DefaultIssuer).
	Issuer string
	// LeaseTTL: a floating lease not renewed for this long ends (default
	// DefaultLeaseTTL); HeartbeatInterval is how often holders renew it
	// (default DefaultHeartbeat), less than the TTL.
	LeaseTTL          time.Duration
	HeartbeatInterval time.Duration
	// OfflineRequestTTL: an air-gapped request file is answered at most
	// this long after the desktop wrote it (default
	// DefaultOfflineRequestTTL); its nonce is remembered as long.
	OfflineRequestTTL time.Duration
	// Uploads: how device licenses of getLicenseAsync are delivered.
	Uploads UploadPolicy
}

// UploadPolicy tunes the upload queue (defaults in brackets).
type UploadPolicy struct {
	// Inline bounds the delivery tried while the callback waits [3s]: the
	// marketplace wants its answer within 5 s.
	Inline time.Duration
	// Backoff is the pause after a first failed attempt, doubling up to
	// MaxBackoff [30s, 15m].
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Lease is how long a process holds an upload it works on before
	// another may take it over (it died) [2m]; more than an attempt lasts.
	Lease time.Duration
}

// Defaults of UploadPolicy.
const (
	DefaultUploadInline     = 3 * time.Second
	DefaultUploadBackoff    = 30 * time.Second
	DefaultUploadMaxBackoff = 15 * time.Minute
	DefaultUploadLease      = 2 * time.Minute
)

func (u UploadPolicy) withDefaults() UploadPolicy {
	if u.Inline <= 0 {
		u.Inline = DefaultUploadInline
	}
	if u.Backoff <= 0 {
		u.Backoff = DefaultUploadBackoff
	}
	if u.MaxBackoff <= 0 {
		u.MaxBackoff = DefaultUploadMaxBackoff
	}
	if u.MaxBackoff < u.Backoff {
		u.MaxBackoff = u.Backoff
	}
	if u.Lease <= 0 {
		u.Lease = DefaultUploadLease
	}
	return u
}

func (c Config) withDefaults() Config {
	if c.QueryInterval <= 0 {
		c.QueryInterval = DefaultQueryInterval
	}
	if c.MaxClockSkew <= 0 {
		c.MaxClockSkew = DefaultMaxClockSkew
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeat
	}
	c.Uploads = c.Uploads.withDefaults()
	if c.OfflineRequestTTL <= 0 {
		c.OfflineRequestTTL = DefaultOfflineRequestTTL
	}
	return c
}

// Validate refuses a policy that cannot be applied.
func (c Config) Validate() error {
	check := func(name string, p Product) error {
		if p.SeatMultiplier < 0 || math.IsNaN(p.SeatMultiplier) || math.IsInf(p.SeatMultiplier, 0) {
			return fmt.Errorf("product %s: seat_multiplier %v must be positive", name, p.SeatMultiplier)
		}
		if p.GraceDays < 0 || p.GraceDays > 366 {
			return fmt.Errorf("product %s: grace_days %d must be 0..366", name, p.GraceDays)
		}
		if p.LicenseModel != "" && p.LicenseModel != ModelNodeLocked && p.LicenseModel != ModelFloating {
			return fmt.Errorf("product %s: license_model %q: want %q or %q", name, p.LicenseModel, ModelNodeLocked, ModelFloating)
		}
		if p.MaxBorrowDays < -1 || p.MaxBorrowDays > MaxBorrowDaysLimit {
			return fmt.Errorf("product %s: max_borrow_days %d must be -1..%d", name, p.MaxBorrowDays, MaxBorrowDaysLimit)
		}
		switch p.CallbackURLs {
		case "", CallbackURLsOne, CallbackURLsPerEvent:
		default:
			return fmt.Errorf("product %s: callback_urls %q: want %q or %q", name, p.CallbackURLs, CallbackURLsOne, CallbackURLsPerEvent)
		}
		switch p.CallbackSignature {
		case "", CallbackSignatureQuery, CallbackSignatureHeader:
		default:
			return fmt.Errorf("product %s: callback_signature %q: want %q or %q", name, p.CallbackSignature, CallbackSignatureQuery, CallbackSignatureHeader)
		}
		if p.AsyncQuota < 0 {
			return fmt.Errorf("product %s: async_quota %d must not be negative", name, p.AsyncQuota)
		}
		return nil
	}
	if c.LeaseTTL < 0 || c.HeartbeatInterval < 0 {
		return fmt.Errorf("lease_ttl and heartbeat_interval must not be negative")
	}
	if d := c.withDefaults(); d.HeartbeatInterval >= d.LeaseTTL {
		return fmt.Errorf("heartbeat_interval %s must be shorter than lease_ttl %s (a lease would end between two heartbeats)", d.HeartbeatInterval, d.LeaseTTL)
	}
	if c.OfflineRequestTTL < 0 || c.OfflineRequestTTL > MaxOfflineRequestTTL {
		return fmt.Errorf("offline request validity %s must be 0 (the default, %d days) up to %d days",
			c.OfflineRequestTTL, DefaultOfflineRequestTTL/(24*time.Hour), MaxOfflineRequestTTL/(24*time.Hour))
	}
	if err := check("default", c.Default); err != nil {
		return err
	}
	if u := c.Uploads; u.Inline > 4*time.Second {
		return fmt.Errorf("uploads: inline %s leaves no time to answer the marketplace within 5 s (at most 4s)", u.Inline)
	}
	if u := c.Uploads; u.Inline < 0 || u.Backoff < 0 || u.MaxBackoff < 0 || u.Lease < 0 {
		return fmt.Errorf("uploads: durations must not be negative")
	}
	for id, p := range c.Products {
		if err := check(id, p); err != nil {
			return err
		}
	}
	return nil
}

// product returns the policy of a product id.
func (c Config) product(id string) Product {
	p, ok := c.Products[id]
	if !ok {
		p = c.Default
	}
	if p.SeatMultiplier == 0 {
		p.SeatMultiplier = 1
	}
	if p.GraceDays == 0 {
		p.GraceDays = DefaultGraceDays
	}
	return p
}

// Seats is how many devices a code of amount binds under p: amount ×
// multiplier, rounded down, at least 1 (a code without an amount counts
// as 1).
func (p Product) Seats(amount float64) int {
	if amount <= 0 || math.IsNaN(amount) {
		amount = 1
	}
	m := p.SeatMultiplier
	if m == 0 {
		m = 1
	}
	n := math.Floor(amount*m + 1e-9)
	if n < 1 {
		return 1
	}
	if n > 1e6 {
		return 1e6
	}
	return int(n)
}

func (p Product) grace() time.Duration { return time.Duration(p.GraceDays) * 24 * time.Hour }
