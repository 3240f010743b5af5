package agent

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/protocol"
)

// Floating licenses: a program's connection holds at most one lease of the
// code's pool, taken at its first license request, renewed by heartbeat
// while it stays connected, and returned when it disconnects. A desktop
// that dies stops renewing: the server ends the lease after its TTL.

// LeasingSource is a LicenseSource that lends floating leases
// (ManagedLicenses is one). An agent whose source is one serves floating
// licenses; a plain LicenseSource serves node-locked ones only.
type LeasingSource interface {
	LicenseSource
	// IssueUnder issues a device license under lease (nil: none); a
	// floating license without a lease held is refused with reason
	// licensing.ReasonNoLease, a lease that ended with ReasonLeaseEnded.
	IssueUnder(ctx context.Context, devInfo string, lease *licensing.Lease) (string, error)
	TakeLease(ctx context.Context, app string) (licensing.Lease, error)
	Heartbeat(ctx context.Context, lease licensing.Lease) (time.Time, error)
	ReturnLease(ctx context.Context, lease licensing.Lease) error
}

// Defaults of the lease timings the server does not give.
const (
	// DefaultLeaseRetry is how often a queued request asks for a lease
	// again (sooner when the earliest holder's lease ends sooner).
	DefaultLeaseRetry = 30 * time.Second
	minLeaseRetry     = 100 * time.Millisecond
	returnTimeout     = 10 * time.Second
)

// connLease is the lease of one connection.
type connLease struct {
	mu   sync.Mutex
	held *licensing.Lease
	stop context.CancelFunc // ends the heartbeats
}

func (cl *connLease) current() *licensing.Lease {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.held == nil {
		return nil
	}
	l := *cl.held
	return &l
}

// drop forgets the lease id if it is the one held, and stops its
// heartbeats; it returns the lease it dropped.
func (cl *connLease) drop(id string) *licensing.Lease {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.held == nil || id != "" && cl.held.ID != id {
		return nil
	}
	l := cl.held
	cl.held = nil
	if cl.stop != nil {
		cl.stop()
		cl.stop = nil
	}
	return l
}

// issue issues a device license for the connection: under its lease when
// the license is floating (taking one at the first request), waiting for a
// lease when the pool is full and the program asked to queue (waiting is
// told by a LicenseQueued event). It returns the token and the end of the
// lease it was issued under (zero: none).
func (s *Server) issue(ctx context.Context, cn *conn, p protocol.LicenseParams, queued func(*licensing.Refusal)) (string, time.Time, error) {
	ls, ok := s.cfg.Licenses.(LeasingSource)
	if !ok {
		tok, err := s.cfg.Licenses.Issue(ctx, p.DevInfo)
		return tok, time.Time{}, err
	}
	told := false
	for taken := false; ; {
		lease := cn.lease.current()
		tok, err := ls.IssueUnder(ctx, p.DevInfo, lease)
		reason := licensing.RefusalReason(err)
		if err == nil || taken || reason != licensing.ReasonNoLease && reason != licensing.ReasonLeaseEnded {
			var ends time.Time
			if err == nil && lease != nil {
				ends = lease.EndsAt
			}
			return tok, ends, err
		}
		if lease != nil {
			cn.lease.drop(lease.ID)
		}
		l, err := ls.TakeLease(ctx, cn.app)
		if err == nil {
			s.hold(cn, ls, l)
			taken = true
			continue
		}
		var r *licensing.Refusal
		if !p.Queue || !errors.As(err, &r) || r.Reason != licensing.ReasonPoolFull {
			return "", time.Time{}, err
		}
		if !told {
			queued(r)
			told = true
		}
		wait := s.leaseRetry()
		if d := time.Until(r.EarliestEnd); !r.EarliestEnd.IsZero() && d < wait {
			wait = max(d, minLeaseRetry)
		}
		select {
		case <-ctx.Done():
			return "", time.Time{}, errs.E("lease", errs.Canceled, errors.New("the program disconnected while waiting for a lease"))
		case <-time.After(wait):
		}
	}
}

func (s *Server) leaseRetry() time.Duration {
	if s.cfg.LeaseRetry > 0 {
		return s.cfg.LeaseRetry
	}
	return DefaultLeaseRetry
}

// hold makes l the connection's lease and renews it every heartbeat
// interval until the connection ends or the server says it ended. A lease
// the connection held before is returned.
func (s *Server) hold(cn *conn, ls LeasingSource, l licensing.Lease) {
	ctx, stop := context.WithCancel(cn.ctx)
	cn.lease.mu.Lock()
	prev := cn.lease.held
	if cn.lease.stop != nil {
		cn.lease.stop()
	}
	cn.lease.held, cn.lease.stop = &l, stop
	cn.lease.mu.Unlock()
	if prev != nil {
		s.giveBack(ls, *prev)
	}
	if cn.ctx.Err() != nil {
		// The program went away while the lease was being taken: its
		// release has run already.
		s.release(cn)
		return
	}
	every := l.Heartbeat
	if every <= 0 {
		every = l.TTL / 5
	}
	every = max(every, minLeaseRetry)
	s.log.Info("lease taken", "app", cn.app, "lease", l.ID, "ends", l.EndsAt)
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			ends, err := ls.Heartbeat(ctx, l)
			switch {
			case err == nil:
				cn.lease.mu.Lock()
				if cn.lease.held != nil && cn.lease.held.ID == l.ID {
					cn.lease.held.EndsAt = ends
				}
				cn.lease.mu.Unlock()
			case ctx.Err() != nil:
				return
			case licensing.RefusalReason(err) != "" || errs.Is(err, errs.NotExist) || errs.Is(err, errs.Permission):
				// Ended by the server (lapsed, the code released, the seat
				// revoked): the next request takes a new lease or is told why.
				s.log.Warn("lease ended by the server", "app", cn.app, "lease", l.ID, "err", err)
				cn.lease.drop(l.ID)
				return
			default:
				s.log.Warn("heartbeat failed; trying again", "app", cn.app, "lease", l.ID, "err", err)
			}
		}
	}()
}

// release returns the connection's lease, if any, when the program
// disconnects.
func (s *Server) release(cn *conn) {
	l := cn.lease.drop("")
	if l == nil {
		return
	}
	if ls, ok := s.cfg.Licenses.(LeasingSource); ok {
		s.giveBack(ls, *l)
	}
}

func (s *Server) giveBack(ls LeasingSource, l licensing.Lease) {
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		ctx, cancel := context.WithTimeout(context.Background(), returnTimeout)
		defer cancel()
		if err := ls.ReturnLease(ctx, l); err != nil {
			s.log.Warn("returning a lease failed; the server ends it after its TTL", "lease", l.ID, "err", err)
			return
		}
		s.log.Info("lease returned", "lease", l.ID)
	}()
}

// poolParams are the params that tell a program who holds a full pool.
func poolParams(r *licensing.Refusal) map[string]string {
	type holder struct {
		Host  string    `json:"host"`
		Since time.Time `json:"since"`
		Until time.Time `json:"until,omitzero"`
	}
	hs := make([]holder, len(r.Holders))
	for i, h := range r.Holders {
		hs[i] = holder{h.Host, h.Since, h.Until}
	}
	raw, _ := json.Marshal(hs)
	p := map[string]string{protocol.RefusalKey: r.Reason, protocol.HoldersKey: string(raw), protocol.ReasonKey: r.Message}
	if !r.EarliestEnd.IsZero() {
		p[protocol.EarliestEndKey] = r.EarliestEnd.UTC().Format(time.RFC3339)
	}
	return p
}
