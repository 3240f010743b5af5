package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/token/activation"
)

// CodeView is a code with its seat count, the seats bound and (from
// CodeInfo only) its activations and leases, for support. For a floating
// code the seats are its pool and the bound ones the leases held.
type CodeView struct {
	Code        Code
	Seats       int
	BoundSeats  int
	Floating    bool
	Activations []Activation
	Leases      []Lease // held now, the earliest end first (floating)
}

// Bound counts the seats held.
func (v CodeView) Bound() int { return v.BoundSeats }

// Codes lists the codes the server knows, with their seats.
func (s *Service) Codes(ctx context.Context) ([]CodeView, error) {
	codes, err := s.store.Codes(ctx)
	if err != nil {
		return nil, storeErr("codes", err)
	}
	held, err := s.store.HeldLeases(ctx, s.now().UTC())
	if err != nil {
		return nil, storeErr("codes", err)
	}
	out := make([]CodeView, len(codes))
	for i, c := range codes {
		p := s.cfg.product(c.ProductID)
		out[i] = CodeView{Code: c.Code, Seats: p.Seats(c.Amount), BoundSeats: c.Bound, Floating: p.Floating()}
		if p.Floating() {
			out[i].BoundSeats = held[c.Hash]
		}
	}
	return out, nil
}

// CodeInfo is one code (given as the code or its hash) with its activations.
func (s *Service) CodeInfo(ctx context.Context, codeOrHash string) (CodeView, error) {
	hash := lookupHash(codeOrHash)
	c, err := s.store.Code(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return CodeView{}, errs.Errorf("codes show", errs.NotExist, "no code %s on this server", CodeLabel(codeOrHash))
	}
	if err != nil {
		return CodeView{}, storeErr("codes show", err)
	}
	acts, err := s.store.Activations(ctx, hash)
	if err != nil {
		return CodeView{}, storeErr("codes show", err)
	}
	p := s.cfg.product(c.ProductID)
	v := CodeView{Code: c, Seats: p.Seats(c.Amount), Activations: acts, Floating: p.Floating()}
	if v.Floating {
		if v.Leases, err = s.store.LeasesOfCode(ctx, hash, s.now().UTC()); err != nil {
			return CodeView{}, storeErr("codes show", err)
		}
		v.BoundSeats = len(v.Leases)
		return v, nil
	}
	for _, a := range acts {
		if a.State == StateActive {
			v.BoundSeats++
		}
	}
	return v, nil
}

// lookupHash takes a code or its 64-hex-digit hash.
func lookupHash(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 64 && strings.Trim(strings.ToLower(s), "0123456789abcdef") == "" {
		return strings.ToLower(s)
	}
	if c, err := licensing.NormalizeCode(s); err == nil {
		return activation.CodeHash(c)
	}
	return activation.CodeHash(s)
}

// Activations lists activations, of one code (code or hash) when given.
func (s *Service) Activations(ctx context.Context, codeOrHash string) ([]Activation, error) {
	hash := ""
	if codeOrHash != "" {
		hash = lookupHash(codeOrHash)
	}
	acts, err := s.store.Activations(ctx, hash)
	if err != nil {
		return nil, storeErr("activations", err)
	}
	return acts, nil
}

// Activation returns one activation.
func (s *Service) Activation(ctx context.Context, id string) (Activation, error) {
	a, err := s.store.Activation(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Activation{}, errs.Errorf("activations show", errs.NotExist, "no activation %s", id)
	}
	if err != nil {
		return Activation{}, storeErr("activations show", err)
	}
	return a, nil
}

// Ready reports whether the database answers.
func (s *Service) Ready(ctx context.Context) error {
	return storeErr("ready", s.store.Ping(ctx))
}

// Stats are the seat figures of all codes, for metrics.
type Stats struct {
	Codes int
	Bound int // seats held
	Free  int // seats not held, over all codes
}

// Stats counts seats over every code.
func (s *Service) Stats(ctx context.Context) (Stats, error) {
	views, err := s.Codes(ctx)
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	for _, v := range views {
		st.Codes++
		b := v.Bound()
		st.Bound += b
		if v.Seats > b {
			st.Free += v.Seats - b
		}
	}
	return st, nil
}

// ReportUsage reports to the marketplace, for each code and each finished
// UTC day not reported yet, the devices that checked it that day: their
// number (active_num), or their activation ids for products configured so.
// It returns how many reports went out; a failed one is tried again at the
// next call.
func (s *Service) ReportUsage(ctx context.Context) (int, error) {
	today := s.now().UTC().Format(time.DateOnly)
	pending, err := s.store.PendingUsage(ctx, today)
	if err != nil {
		return 0, storeErr("usage", err)
	}
	sent := 0
	var firstErr error
	for _, u := range pending {
		var ids []string
		if s.cfg.product(u.ProductID).ReportIDs {
			ids = u.Activations
		}
		if err := s.mkt.ReportUsage(ctx, u.Code, ids, len(u.Activations)); err != nil {
			s.log.WarnContext(ctx, "usage report failed", "code", CodeLabel(u.Code), "day", u.Day, "err", err.Error())
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if err := s.store.MarkReported(ctx, u.CodeHash, u.Day, s.now()); err != nil {
			return sent, storeErr("usage", err)
		}
		sent++
		s.log.InfoContext(ctx, "usage reported", "code", CodeLabel(u.Code), "day", u.Day, "devices", len(u.Activations))
	}
	return sent, firstErr
}
