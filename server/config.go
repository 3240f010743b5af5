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
		return nil
	}
	if c.LeaseTTL < 0 || c.HeartbeatInterval < 0 {
		return fmt.Errorf("lease_ttl and heartbeat_interval must not be negative")
	}
	if d := c.withDefaults(); d.HeartbeatInterval >= d.LeaseTTL {
		return fmt.Errorf("heartbeat_interval %s must be shorter than lease_ttl %s (a lease would end between two heartbeats)", d.HeartbeatInterval, d.LeaseTTL)
	}
	if err := check("default", c.Default); err != nil {
		return err
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
