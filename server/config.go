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
	// DefaultOfflineRequestTTL is how long an air-gapped request file may
	// travel before the server answers it (its nonce is remembered as long).
	DefaultOfflineRequestTTL = 30 * 24 * time.Hour
	// MaxOfflineRequestTTL bounds OfflineRequestTTL.
	MaxOfflineRequestTTL = 366 * 24 * time.Hour
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
	// OfflineRequestTTL: an air-gapped request file is answered at most
	// this long after the desktop wrote it (default
	// DefaultOfflineRequestTTL); its nonce is remembered as long.
	OfflineRequestTTL time.Duration
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
		return nil
	}
	if c.OfflineRequestTTL < 0 || c.OfflineRequestTTL > MaxOfflineRequestTTL {
		return fmt.Errorf("offline request validity %s must be 0 (the default, %d days) up to %d days",
			c.OfflineRequestTTL, DefaultOfflineRequestTTL/(24*time.Hour), MaxOfflineRequestTTL/(24*time.Hour))
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
