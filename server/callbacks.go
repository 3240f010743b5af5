package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

// The marketplace's calls to the vendor (licensing/marketplace/callback,
// spec marketplace-callbacks.md): refreshLicenseCode, releaseLicenseCode and
// getLicenseAsync, each verified before anything else, applied once however
// often the marketplace repeats it, answered within its 5 s.

// CallbackRequest is a marketplace call as it came.
type CallbackRequest struct {
	Query url.Values // carries signature, timestamp and nonce
	// Header returns a request header (http.Header.Get): the signature of
	// a product configured "callback_signature": "header". nil: none.
	Header func(name string) string
	Body   []byte
	// Product is the product the URL names ("": the one URL of the server;
	// the default product's policy applies to an async license).
	Product string
	// Activity is the event the URL names (a product configured with one
	// URL per event), "" when the body names it.
	Activity string
}

// CallbackResult is the answer to a callback and what it was about (for
// logs and metrics).
type CallbackResult struct {
	callback.Answer
	Activity string
	// Applied: the call changed state (false for a retry, a refusal or a
	// license delivered before).
	Applied bool
}

// Uploader delivers a device license through the marketplace's upload API
// (server/upstream adapts licensing/marketplace.Client).
type Uploader interface {
	// Upload sends content as the answer to event eventID. A refusal of the
	// marketplace is an *UploadError; any other error (the marketplace
	// could not be reached) is worth trying again.
	Upload(ctx context.Context, eventID string, content []byte) error
}

// UploadError is the marketplace's refusal of an upload.
type UploadError struct {
	Code      string // its error_code (callback.Upload*), or "HTTP nnn"
	Message   string
	Retryable bool // sending again may succeed (its side failed)
}

func (e *UploadError) Error() string { return "upload refused: " + e.Code + " " + e.Message }

func answer(code, format string, a ...any) callback.Answer {
	return callback.Answer{ResultCode: code, ResultMsg: fmt.Sprintf(format, a...)}
}

var answerOK = callback.Answer{ResultCode: callback.ResultSuccess, ResultMsg: "success."}

// Callback verifies, records and applies one marketplace call and returns
// the answer the marketplace expects. Nothing is read or changed before the
// signature is verified and its nonce recorded as new.
func (s *Service) Callback(ctx context.Context, r CallbackRequest) CallbackResult {
	res := CallbackResult{Activity: r.Activity}
	if s.callbackKey == "" {
		s.log.WarnContext(ctx, "marketplace callback refused: no callback key configured (ISCDESK_CALLBACK_KEY or the credentials file's callback_key)")
		res.Answer = answer(callback.ResultAuthFailed, "the vendor server has no callback key configured")
		return res
	}
	now := s.now()
	var nonce string
	var err error
	if s.cfg.product(r.Product).CallbackSignature == CallbackSignatureHeader {
		get := r.Header
		if get == nil {
			get = func(string) string { return "" }
		}
		nonce, err = callback.VerifyHeader(s.callbackKey, get, r.Body, now)
	} else {
		nonce, err = callback.Verify(s.callbackKey, r.Query, r.Body, now)
	}
	if err != nil {
		res.Answer = answer(callback.ResultAuthFailed, "authentication failed: %v", err)
		return res
	}
	switch err := s.store.UseCallbackNonce(ctx, nonce, now, now.Add(-2*callback.Window)); {
	case errors.Is(err, ErrReplay):
		res.Answer = answer(callback.ResultAuthFailed, "authentication failed: nonce used before (replayed call)")
		return res
	case err != nil:
		s.log.ErrorContext(ctx, "marketplace callback: nonce store failed", "err", err.Error())
		res.Answer = answer(callback.ResultInternal, "internal error of the vendor server; try again")
		return res
	}
	if r.Activity != "" && s.cfg.product(r.Product).CallbackURLs != CallbackURLsPerEvent {
		res.Answer = answer(callback.ResultInvalidParam, "product %q is not configured with one URL per event (callback_urls)", r.Product)
		return res
	}
	e, err := callback.Parse(r.Body, r.Activity)
	if err != nil {
		res.Answer = answer(callback.ResultInvalidParam, "%v", err)
		return res
	}
	res.Activity = e.Activity
	switch e.Activity {
	case callback.ActivityRefresh, callback.ActivityRelease:
		res.Answer, res.Applied = s.codeEvent(ctx, e, now)
	default:
		res.Answer, res.Applied = s.asyncLicense(ctx, r.Product, e, now)
	}
	return res
}

// eventKey identifies an event by its activity and every field: the
// marketplace's retry of it has the same key, another event another.
func eventKey(e callback.Event) string {
	h := sha256.New()
	for _, f := range []string{e.Activity, e.Scene, e.OrderID, e.OrderLineID, e.License, e.ProductID, e.ExpireTime} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// codeEvent applies a refresh (the code's expiry changes; its devices learn
// it at their next check) or a release (the code is released: checks and
// device licenses are refused from now on). A code the server has not seen
// is recorded from the event.
func (s *Service) codeEvent(ctx context.Context, e callback.Event, now time.Time) (callback.Answer, bool) {
	code, err := licensing.NormalizeCode(e.License)
	if err != nil {
		return answer(callback.ResultInvalidParam, "license: %v", err), false
	}
	ev := CodeEvent{Key: eventKey(e), Activity: e.Activity, Hash: activation.CodeHash(code), Code: code,
		ProductID: e.ProductID, OrderID: e.OrderID, At: now, Status: licensing.StatusReleased}
	if e.Activity == callback.ActivityRefresh {
		ev.ExpireTime, _ = callback.ParseExpireTime(e.ExpireTime) // Parse checked it
		ev.Status = licensing.StatusAlive
		if !now.Before(ev.ExpireTime) {
			ev.Status = licensing.StatusExpired
		}
	}
	applied, err := s.store.ApplyCodeEvent(ctx, ev)
	if err != nil {
		s.log.ErrorContext(ctx, "marketplace callback: store failed", "activity", e.Activity, "code", CodeLabel(code), "err", err.Error())
		return answer(callback.ResultInternal, "internal error of the vendor server; try again"), false
	}
	if applied {
		s.log.InfoContext(ctx, "marketplace event applied", "activity", e.Activity, "code", CodeLabel(code),
			"scene", e.Scene, "status", string(ev.Status), "expire", ev.ExpireTime)
	} else {
		s.log.DebugContext(ctx, "marketplace event repeated", "activity", e.Activity, "code", CodeLabel(code))
	}
	return answerOK, applied
}

// asyncPerpetual is the validity of a device license the marketplace gave
// no expiry for (a perpetual product): a token needs an exp.
const asyncPerpetual = 100 * 365 * 24 * time.Hour

// asyncLicense issues (once per event and fingerprint) a device license
// bound to the fingerprint the marketplace sent, queues its upload durably,
// and tries to deliver it while the marketplace waits.
func (s *Service) asyncLicense(ctx context.Context, product string, e callback.Event, now time.Time) (callback.Answer, bool) {
	if strings.TrimSpace(e.DeviceFingerprint) == "" {
		return answer(callback.ResultNeedDeviceInfo, "deviceFingerprint is required: the license binds a device"), false
	}
	c, err := devinfo.Parse(e.DeviceFingerprint)
	if err != nil {
		return answer(callback.ResultInvalidParam, "deviceFingerprint: not a MAC|disk|board|CPU fingerprint"), false
	}
	switch {
	case c.Units() == 0:
		return answer(callback.ResultNeedDeviceInfo, "deviceFingerprint names no network card, disk or board: no license can be bound to it"), false
	case c.NeedsMachineID():
		return answer(callback.ResultNeedDeviceInfo, "deviceFingerprint names a single network card, disk or board: a license bound to it needs the OS machine id, which this request cannot carry; send at least two of them"), false
	}
	p := s.cfg.product(product)
	eff, _ := callback.ParseTime(e.EffectiveTime) // Parse checked them
	var exp time.Time
	if e.ExpireTime != "" {
		exp, _ = callback.ParseTime(e.ExpireTime)
	}
	switch {
	case exp.IsZero() && p.Periodic:
		return answer(callback.ResultNeedExpiry, "expireTime is required: product %q is periodic", product), false
	case !exp.IsZero() && !exp.After(eff):
		return answer(callback.ResultOutsideValid, "expireTime %s is not after effectiveTime %s", callback.FormatTime(exp), callback.FormatTime(eff)), false
	case !exp.IsZero() && !exp.After(now):
		return answer(callback.ResultOutsideValid, "the order's validity ended at %s", callback.FormatTime(exp)), false
	}
	stored, err := s.store.AsyncLicense(ctx, e.EventID, e.DeviceFingerprint)
	created := false
	if errors.Is(err, ErrNotFound) {
		if exp.IsZero() {
			exp = eff.Add(asyncPerpetual)
		}
		tok, serr := token.Sign(s.signer.SigningKey(), token.Claims{
			Issuer: s.cfg.Issuer, License: e.InstanceID, DevInfo: e.DeviceFingerprint, ProductID: product,
			IssuedAt: now.Unix(), NotBefore: eff.Unix(), Expires: exp.Unix(), ID: newLicenseID(),
		})
		if serr != nil {
			s.log.ErrorContext(ctx, "async license: signing failed", "err", serr.Error())
			return answer(callback.ResultInternal, "internal error of the vendor server"), false
		}
		l := AsyncLicense{EventID: e.EventID, Fingerprint: e.DeviceFingerprint, InstanceID: e.InstanceID, ProductID: product,
			TestFlag: e.TestFlag, Token: tok, CreatedAt: now}
		if s.uploader != nil {
			// Inserted leased to this process: it tries the upload first,
			// without claiming it in another transaction.
			l.LeaseOwner, l.LeaseUntil = s.id, now.Add(s.cfg.Uploads.Lease)
		}
		stored, err = s.store.PutAsyncLicense(ctx, l, p.AsyncQuota)
		created = err == nil && stored.Token == tok
	}
	switch {
	case errors.Is(err, ErrNoQuota):
		return answer(callback.ResultNoQuota, "instance %s has device licenses for its %d devices already", e.InstanceID, p.AsyncQuota), false
	case err != nil:
		s.log.ErrorContext(ctx, "async license: store failed", "event", e.EventID, "err", err.Error())
		return answer(callback.ResultInternal, "internal error of the vendor server; try again"), false
	}
	if created {
		s.log.InfoContext(ctx, "async license issued", "event", e.EventID, "instance", e.InstanceID, "product", product, "test", e.TestFlag)
	}
	switch stored.State {
	case UploadDone:
		return answerOK, created
	case UploadFailed:
		return answer(callback.ResultInternal, "the marketplace refused the license's upload (%s)", stored.LastCode), created
	}
	if s.deliverNow(ctx, stored, created) {
		return answerOK, created
	}
	return answer(callback.ResultProcessing, "processing: the license follows through the upload API"), created
}

func newLicenseID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "lic_" + hex.EncodeToString(b)
}

// deliverNow tries the upload of l within the inline budget, under a lease
// (so no other process sends it meanwhile: a license this call created is
// leased to it already), and reports whether it was accepted. A failure
// leaves it queued for the workers.
func (s *Service) deliverNow(ctx context.Context, l AsyncLicense, leased bool) bool {
	if s.uploader == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Uploads.Inline)
	defer cancel()
	if !leased {
		now := s.now()
		claimed, err := s.store.ClaimUploads(ctx, s.id, now, now.Add(s.cfg.Uploads.Lease), 1, l.EventID, l.Fingerprint)
		if err != nil || len(claimed) == 0 {
			return false
		}
		l = claimed[0]
	}
	return s.attempt(ctx, l) == UploadDone
}

// uploadBatch is how many uploads a worker claims at a time.
const uploadBatch = 16

// WorkUploads sends the due uploads of the queue once (any process may: each
// upload is leased to one) and returns how many were delivered. serve calls
// it every second.
func (s *Service) WorkUploads(ctx context.Context) (int, error) {
	if s.uploader == nil {
		return 0, nil
	}
	done := 0
	for {
		now := s.now()
		batch, err := s.store.ClaimUploads(ctx, s.id, now, now.Add(s.cfg.Uploads.Lease), uploadBatch, "", "")
		if err != nil {
			return done, storeErr("uploads", err)
		}
		for _, l := range batch {
			actx, cancel := context.WithTimeout(ctx, s.cfg.Uploads.Lease/2)
			if s.attempt(actx, l) == UploadDone {
				done++
			}
			cancel()
		}
		if len(batch) < uploadBatch || ctx.Err() != nil {
			return done, ctx.Err()
		}
	}
}

// attempt sends a claimed upload once and records the outcome.
func (s *Service) attempt(ctx context.Context, l AsyncLicense) UploadState {
	err := s.uploader.Upload(ctx, l.EventID, []byte(l.Token))
	now := s.now()
	r := UploadResult{EventID: l.EventID, Fingerprint: l.Fingerprint, At: now, State: UploadDone}
	var ue *UploadError
	switch {
	case err == nil:
	case errors.As(err, &ue) && !ue.Retryable:
		r.State, r.Code, r.Error = UploadFailed, ue.Code, ue.Message
	default:
		r.State, r.Code, r.Error = UploadPending, "transport", err.Error()
		if ue != nil {
			r.Code, r.Error = ue.Code, ue.Message
		}
		r.NextAt = now.Add(s.backoff(l.Attempts + 1))
	}
	ok, ferr := s.store.FinishUpload(context.WithoutCancel(ctx), s.id, r)
	switch {
	case ferr != nil:
		s.log.ErrorContext(ctx, "upload: recording the outcome failed", "event", l.EventID, "err", ferr.Error())
	case !ok:
		s.log.WarnContext(ctx, "upload: lease lost to another process", "event", l.EventID)
	}
	switch r.State {
	case UploadDone:
		s.log.InfoContext(ctx, "async license delivered", "event", l.EventID, "attempts", l.Attempts+1)
	case UploadFailed:
		s.log.ErrorContext(ctx, "async license upload refused for good", "event", l.EventID, "code", r.Code, "err", r.Error)
	default:
		s.log.WarnContext(ctx, "async license upload failed; will retry", "event", l.EventID, "code", r.Code,
			"err", r.Error, "next", r.NextAt)
	}
	if s.observeUpload != nil {
		s.observeUpload(string(r.State), r.Code)
	}
	return r.State
}

// backoff is the pause before the attempt after the n-th failed one:
// Backoff·2^(n-1), at most MaxBackoff.
func (s *Service) backoff(n int) time.Duration {
	u := s.cfg.Uploads
	d := u.Backoff
	for i := 1; i < n && d < u.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, u.MaxBackoff)
}

// UploadCounts counts the queued uploads by state (metrics).
func (s *Service) UploadCounts(ctx context.Context) (map[UploadState]int, error) {
	m, err := s.store.UploadCounts(ctx)
	return m, storeErr("uploads", err)
}
