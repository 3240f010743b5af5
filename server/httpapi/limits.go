package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are the rate limits: token buckets per client address (every
// request, and activations alone: code guessing) and per license code on
// activate. A zero rate is the default; a negative one turns that limit off.
type Limits struct {
	PerAddr              float64 `json:"per_addr_per_second,omitempty"`
	PerAddrBurst         int     `json:"per_addr_burst,omitempty"`
	ActivatePerAddr      float64 `json:"activate_per_addr_per_minute,omitempty"`
	ActivatePerAddrBurst int     `json:"activate_per_addr_burst,omitempty"`
	ActivatePerCode      float64 `json:"activate_per_code_per_minute,omitempty"`
	ActivatePerCodeBurst int     `json:"activate_per_code_burst,omitempty"`
}

// Defaults of Limits: a desktop checks once a day, so 20 requests a second
// from one address is a whole office behind one NAT; 30 activations a
// minute from one address, and 60 a minute of one code, with bursts that
// let a roll-out of many machines through.
const (
	DefaultPerAddr              = 20
	DefaultPerAddrBurst         = 100
	DefaultActivatePerAddr      = 30
	DefaultActivatePerAddrBurst = 60
	DefaultActivatePerCode      = 60
	DefaultActivatePerCodeBurst = 300
)

func (l Limits) withDefaults() Limits {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.PerAddr, DefaultPerAddr)
	defInt(&l.PerAddrBurst, DefaultPerAddrBurst)
	def(&l.ActivatePerAddr, DefaultActivatePerAddr)
	defInt(&l.ActivatePerAddrBurst, DefaultActivatePerAddrBurst)
	def(&l.ActivatePerCode, DefaultActivatePerCode)
	defInt(&l.ActivatePerCodeBurst, DefaultActivatePerCodeBurst)
	return l
}

// buckets is a token bucket per key, forgetting keys idle for a while.
type buckets struct {
	limit rate.Limit
	burst int
	off   bool

	mu    sync.Mutex
	m     map[string]*bucket
	calls int
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxIdle: a bucket unused this long is full again anyway; forget it.
const maxIdle = 10 * time.Minute

func newBuckets(perSecond float64, burst int) *buckets {
	return &buckets{limit: rate.Limit(perSecond), burst: burst, off: perSecond < 0, m: map[string]*bucket{}}
}

func (b *buckets) allow(key string, now time.Time) bool {
	if b.off {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if b.calls%4096 == 0 {
		for k, v := range b.m {
			if now.Sub(v.seen) > maxIdle {
				delete(b.m, k)
			}
		}
	}
	e, ok := b.m[key]
	if !ok {
		e = &bucket{lim: rate.NewLimiter(b.limit, b.burst)}
		b.m[key] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}

// clientAddr is the address a request comes from: the peer, or, when the
// peer is a trusted proxy, the last address in X-Forwarded-For that is not
// one.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !isTrusted(a, trusted) {
			return a.String()
		}
	}
	return host
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
