package server

import (
	"context"
	"errors"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
)

// upstreamTimeout bounds one refresh of a code, whoever waits for it.
const upstreamTimeout = 90 * time.Second

// unusableRecheck: a code the last answer says is unusable (expired,
// released) is asked again after this long rather than after the whole
// query interval, so a renewal reaches its devices within minutes.
const unusableRecheck = 15 * time.Minute

// fresh reports whether the stored answer about c may stand at now.
func (s *Service) fresh(c Code, now time.Time) bool {
	if c.Status == licensing.StatusReleased {
		// Final: a released code is never alive again (the marketplace's
		// release callback may have told it before any query did).
		return true
	}
	age := now.Sub(c.QueriedAt)
	if c.usable("", now) != nil {
		return age < min(unusableRecheck, s.cfg.QueryInterval)
	}
	return age < s.cfg.QueryInterval
}

// code returns what is known of a code, asking the marketplace when the
// server has never seen it (activate) or its answer is older than the query
// interval (query). Callers of one code at once share one marketplace call.
// When the marketplace cannot be reached, an older answer is used.
func (s *Service) code(ctx context.Context, op, code, hash string) (Code, error) {
	now := s.now()
	stored, err := s.store.Code(ctx, hash)
	switch {
	case err == nil && s.fresh(stored, now):
		return stored, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return Code{}, storeErr(op, err)
	}
	v, err, _ := s.upstream.Do(hash, func() (any, error) {
		// Not the caller's context: its cancellation must not fail the
		// others waiting for the same answer.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), upstreamTimeout)
		defer cancel()
		return s.refresh(uctx, op, code, hash)
	})
	if err != nil {
		return Code{}, err
	}
	return v.(Code), nil
}

// claimPoll is how often a replica waiting for another's marketplace answer
// looks for it.
const claimPoll = 20 * time.Millisecond

func (s *Service) refresh(ctx context.Context, op, code, hash string) (Code, error) {
	// One replica asks the marketplace; the others wait for its answer in
	// the database (or take over when its claim goes stale: it died).
	for {
		stored, err := s.store.Code(ctx, hash)
		if err == nil && s.fresh(stored, s.now()) {
			return stored, nil // another process refreshed it meanwhile
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Code{}, storeErr(op, err)
		}
		now := s.now()
		claimed, err := s.store.ClaimUpstream(ctx, hash, now, now.Add(-upstreamTimeout))
		if err != nil {
			return Code{}, storeErr(op, err)
		}
		if claimed {
			break
		}
		select {
		case <-ctx.Done():
			return Code{}, errs.E(op, errs.Unavailable, errors.New("timed out waiting for another server's marketplace answer"))
		case <-time.After(claimPoll):
		}
	}
	defer func() {
		if err := s.store.ReleaseUpstream(context.WithoutCancel(ctx), hash); err != nil {
			s.log.WarnContext(ctx, "releasing the upstream claim failed", "err", err.Error())
		}
	}()
	now := s.now()
	stored, err := s.store.Code(ctx, hash)
	// A code recorded from a marketplace event but never asked about is
	// activated upstream like one never seen.
	known := err == nil && !stored.QueriedAt.IsZero()
	switch {
	case known && s.fresh(stored, now):
		return stored, nil // answered between our look and our claim
	case err != nil && !errors.Is(err, ErrNotFound):
		return Code{}, storeErr(op, err)
	}
	var lic licensing.License
	if known {
		lic, err = s.mkt.Query(ctx, code)
	} else {
		lic, err = s.mkt.Activate(ctx, code)
	}
	label := CodeLabel(code)
	if err != nil {
		kind := errs.KindOf(err)
		if (kind == errs.Expired || kind == errs.Released) && lic.Code != "" {
			// Activated before and no longer usable: remember what it is.
			c := codeOf(lic, hash, now, stored)
			if perr := s.store.PutCode(ctx, c); perr != nil {
				return Code{}, storeErr(op, perr)
			}
			return c, nil
		}
		if known && (kind == errs.Unavailable || kind == errs.Protocol) {
			s.log.WarnContext(ctx, "marketplace unreachable, using the last answer", "code", label,
				"queried_at", stored.QueriedAt, "err", err.Error())
			return stored, nil
		}
		s.log.WarnContext(ctx, "marketplace refused", "code", label, "kind", kind.Name(), "err", err.Error())
		return Code{}, errs.E(op, errs.Other, err)
	}
	c := codeOf(lic, hash, now, stored)
	if err := s.store.PutCode(ctx, c); err != nil {
		return Code{}, storeErr(op, err)
	}
	s.log.InfoContext(ctx, "marketplace answered", "code", label, "status", string(c.Status), "product", c.ProductID)
	return c, nil
}

func codeOf(l licensing.License, hash string, now time.Time, old Code) Code {
	c := Code{
		Code: l.Code, Hash: hash, Status: l.Status, ProductID: l.ProductID, OrderID: l.OrderID,
		Amount: l.Amount, ExpireTime: l.ExpireTime, ActivateTime: l.ActivateTime,
		QueriedAt: now, CreatedAt: old.CreatedAt,
	}
	// A query answer lacks the amount and order: keep the activation's.
	if c.Amount == 0 {
		c.Amount = old.Amount
	}
	if c.OrderID == "" {
		c.OrderID = old.OrderID
	}
	if c.ProductID == "" {
		c.ProductID = old.ProductID
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	return c
}
