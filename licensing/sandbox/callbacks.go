package sandbox

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
)

// The marketplace's retry schedule (marketplace-callbacks.md): a release is
// sent up to 60 times, 2 minutes apart; the other events are retried for
// about an hour.
const (
	DefaultReleaseInterval = 2 * time.Minute
	DefaultReleaseAttempts = 60
	DefaultRetryInterval   = 2 * time.Minute
	DefaultRetryFor        = time.Hour
	// CallbackTimeout is how long the vendor has to answer (the
	// marketplace's 5 seconds); a slower answer counts as a failure.
	CallbackTimeout = 5 * time.Second
	// DefaultTick is how often the callback loop looks for due work (a
	// callback to send or retry, a renewal or release to apply) when
	// nothing wakes it earlier.
	DefaultTick = time.Second
)

// maxFinished bounds the finished callbacks kept in the state file; pending
// ones are always kept. The whole file is rewritten at every change, so
// what it keeps stays small.
const maxFinished = 100

// maxEvents bounds the getLicenseAsync event ids remembered for uploads.
const maxEvents = 1000

// Retry is the sandbox's retry schedule. Zero fields take the marketplace's
// values; tests shorten them.
type Retry struct {
	ReleaseInterval time.Duration // between two sends of a release
	ReleaseAttempts int           // sends of a release in all
	Interval        time.Duration // between two sends of another event
	For             time.Duration // how long another event is retried
}

func (r Retry) withDefaults() Retry {
	r.ReleaseInterval = cmp.Or(r.ReleaseInterval, DefaultReleaseInterval)
	r.ReleaseAttempts = cmp.Or(r.ReleaseAttempts, DefaultReleaseAttempts)
	r.Interval = cmp.Or(r.Interval, DefaultRetryInterval)
	r.For = cmp.Or(r.For, DefaultRetryFor)
	return r
}

// Callback states.
const (
	CallbackPending   = "pending"   // queued or waiting for its next try
	CallbackDelivered = "delivered" // the vendor answered 000000 (or 000004 for getLicenseAsync)
	CallbackRefused   = "refused"   // the vendor gave a final refusal (000002, 000003, 0009xx)
	CallbackGaveUp    = "gave_up"   // the retries ran out
)

// Callback is one call of the marketplace to the vendor, as the sandbox
// queued it: the exact body it signs and sends, and how its delivery went.
type Callback struct {
	ID       string `json:"id"`
	Activity string `json:"activity"`
	License  string `json:"license,omitempty"`  // refresh and release
	EventID  string `json:"event_id,omitempty"` // getLicenseAsync
	// Body is the JSON body, the same bytes at every try (each try gets a
	// fresh nonce and timestamp).
	Body     json.RawMessage `json:"body"`
	Created  time.Time       `json:"created"`
	NextAt   time.Time       `json:"next_at,omitzero"` // next try, while pending
	Attempts int             `json:"attempts"`
	State    string          `json:"state"`
	// Result is the vendor's last resultCode, or why the last try failed
	// (HTTP status, unreadable answer, timeout, connection refused).
	Result string `json:"result,omitempty"`
	// Message is the vendor's last resultMsg.
	Message string `json:"message,omitempty"`
}

// finished reports whether c will not be sent again.
func (c *Callback) finished() bool { return c.State != CallbackPending }

// AsyncLicense is a getLicenseAsync request for RequestLicense.
type AsyncLicense struct {
	InstanceID  string    // required: the instance (order line) the vendor knows
	EventID     string    // empty: a fresh random id
	Fingerprint string    // deviceFingerprint; empty sends none
	Effective   time.Time // zero: now
	Expire      time.Time // zero sends no expireTime
	TestFlag    string    // "", "0" or "1"
}

// CallbackKey returns the key the sandbox signs its callbacks with: the
// vendor server's callback key.
func (s *Server) CallbackKey() string {
	var k string
	s.view(func(st *state) { k = st.CallbackKey })
	return k
}

// VendorURL returns where callbacks are sent ("" while none is set).
func (s *Server) VendorURL() string {
	var u string
	s.view(func(st *state) { u = st.VendorURL })
	return u
}

// ActivityPlaceholder in a vendor URL is replaced by each callback's
// activity, for a vendor configured with one URL per event
// (https://vendor/cb/{activity}).
const ActivityPlaceholder = "{activity}"

// SetVendorURL sets the vendor's callback URL (http or https, no
// credentials, no fragment; a query is kept and the signature parameters
// are appended; ActivityPlaceholder is replaced by the event). Pending
// callbacks go there from their next try.
func (s *Server) SetVendorURL(raw string) error {
	if err := checkVendorURL(raw); err != nil {
		return err
	}
	err := s.update(func(st *state) error {
		st.VendorURL = raw
		return nil
	})
	s.kick()
	return err
}

func checkVendorURL(raw string) error {
	const op = "sandbox.SetVendorURL"
	u, err := url.Parse(strings.ReplaceAll(raw, ActivityPlaceholder, "x"))
	switch {
	case err != nil:
		return errs.E(op, errs.Invalid, errors.New("vendor URL is not a URL"))
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return errs.E(op, errs.Invalid, errors.New("vendor URL must be http:// or https://HOST/…"))
	case u.User != nil, u.Fragment != "":
		return errs.E(op, errs.Invalid, errors.New("vendor URL must carry no credentials and no fragment"))
	}
	return nil
}

// Callbacks lists the callbacks queued and the last finished ones, oldest
// first.
func (s *Server) Callbacks() []Callback {
	var c []Callback
	s.view(func(st *state) { c = slices.Clone(st.Outbox) })
	return c
}

// CallbackByID returns one callback.
func (s *Server) CallbackByID(id string) (Callback, bool) {
	var (
		c  Callback
		ok bool
	)
	s.view(func(st *state) {
		if i := st.findCallback(id); i >= 0 {
			c, ok = st.Outbox[i], true
		}
	})
	return c, ok
}

func (st *state) findCallback(id string) int {
	return slices.IndexFunc(st.Outbox, func(c Callback) bool { return c.ID == id })
}

// Refresh renews (scene RENEWAL) or shortens (UNSUBSCRIBE_RENEWAL_PERIOD)
// an activated code that was not released: its expiry becomes expire, and refreshLicenseCode is
// queued. An unsubscribe also ends the code's automatic renewal. It
// returns the callback's id.
func (s *Server) Refresh(code, scene string, expire time.Time) (string, error) {
	const op = "sandbox.Refresh"
	if scene != callback.SceneRenewal && scene != callback.SceneUnsubscribe {
		return "", errs.E(op, errs.Invalid, fmt.Errorf("scene %q: want %s or %s", scene, callback.SceneRenewal, callback.SceneUnsubscribe))
	}
	expire = expire.UTC().Truncate(time.Second)
	if expire.IsZero() {
		return "", errs.E(op, errs.Invalid, errors.New("an expiry time is required"))
	}
	var id string
	err := s.update(func(st *state) error {
		i := st.find(code)
		if i < 0 {
			return errs.E(op, errs.NotFound, fmt.Errorf("code %s", code))
		}
		c := &st.Codes[i]
		if !c.activated() {
			return errs.E(op, errs.NotActivated, fmt.Errorf("code %s", code))
		}
		if c.Status == licensing.StatusReleased {
			return errs.E(op, errs.Released, fmt.Errorf("code %s was released: it cannot be renewed", code))
		}
		c.ExpireTime = expire
		if scene == callback.SceneUnsubscribe {
			c.AutoRenew = false
		}
		id = st.enqueue(s.now(), refreshEvent(c, scene))
		return nil
	})
	s.kick()
	return id, err
}

// Release releases (refunds) code now: its status becomes RELEASED, any
// scheduled release is dropped, and releaseLicenseCode is queued. It
// returns the callback's id.
func (s *Server) Release(code string) (string, error) {
	var id string
	err := s.changeCode("sandbox.Release", code, func(st *state, c *codeRecord) error {
		id = st.release(s.now(), c)
		return nil
	})
	s.kick()
	return id, err
}

// ScheduleRelease makes the sandbox release code at time at (as Release,
// on its own schedule); the zero time cancels a scheduled release. A code
// released already is refused. (Release itself may be repeated: it sends
// the callback again, as a marketplace resending would.)
func (s *Server) ScheduleRelease(code string, at time.Time) error {
	return s.changeCode("sandbox.ScheduleRelease", code, func(_ *state, c *codeRecord) error {
		if !at.IsZero() && c.Status == licensing.StatusReleased {
			return errs.E("sandbox.ScheduleRelease", errs.Released, fmt.Errorf("code %s is released already", code))
		}
		c.ReleaseAt = at.UTC().Truncate(time.Second)
		return nil
	})
}

// SetAutoRenew turns the automatic renewal of code on or off: when on, an
// activated ALIVE code whose expiry comes is renewed for another term and
// refreshLicenseCode (RENEWAL) is sent.
func (s *Server) SetAutoRenew(code string, on bool) error {
	return s.changeCode("sandbox.SetAutoRenew", code, func(_ *state, c *codeRecord) error {
		c.AutoRenew = on
		return nil
	})
}

// RequestLicense queues getLicenseAsync for r and returns the callback's id
// and the event id (r.EventID or a fresh one). The vendor's upload for that
// event id is then accepted.
func (s *Server) RequestLicense(r AsyncLicense) (id, eventID string, err error) {
	const op = "sandbox.RequestLicense"
	now := s.now()
	ev := callback.Event{
		Activity:          callback.ActivityLicense,
		InstanceID:        r.InstanceID,
		EventID:           cmp.Or(r.EventID, "EV"+randomString(30, upperAlnum)),
		EffectiveTime:     callback.FormatTime(cmp.Or(r.Effective, now)),
		DeviceFingerprint: r.Fingerprint,
		TestFlag:          r.TestFlag,
	}
	if !r.Expire.IsZero() {
		ev.ExpireTime = callback.FormatTime(r.Expire)
	}
	if r.TestFlag != "" && r.TestFlag != "0" && r.TestFlag != "1" {
		return "", "", errs.E(op, errs.Invalid, fmt.Errorf("testFlag %q: want 0 or 1", r.TestFlag))
	}
	if !validEventID(ev.EventID) {
		return "", "", errs.E(op, errs.Invalid, fmt.Errorf("event id %q: want 1 to %d letters, digits, '-', '_' or '.'", ev.EventID, callback.MaxID))
	}
	// The body must be one the vendor's parser accepts: check it the same
	// way (required fields, caps, time forms).
	body, err := json.Marshal(ev)
	if err != nil {
		return "", "", err
	}
	if _, err := callback.Parse(body, ""); err != nil {
		return "", "", errs.E(op, errs.Invalid, err)
	}
	err = s.update(func(st *state) error {
		if st.knownEvent(ev.EventID) && r.EventID == "" {
			return errs.E(op, errs.Invalid, errors.New("event id collision, try again"))
		}
		id = st.enqueue(now, ev)
		return nil
	})
	s.kick()
	return id, ev.EventID, err
}

// validEventID keeps event ids to what fits a URL path segment unescaped.
func validEventID(id string) bool {
	if id == "" || len(id) > callback.MaxID {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// knownEvent reports whether the sandbox sent getLicenseAsync for eventID
// (among the last maxEvents).
func (st *state) knownEvent(eventID string) bool { return slices.Contains(st.Events, eventID) }

func refreshEvent(c *codeRecord, scene string) callback.Event {
	return callback.Event{Activity: callback.ActivityRefresh, Scene: scene, OrderID: c.OrderID,
		License: c.Code, ProductID: c.ProductID, ExpireTime: formatTime(c.ExpireTime)}
}

// release applies a release to c and queues its callback.
func (st *state) release(now time.Time, c *codeRecord) string {
	c.Status = licensing.StatusReleased
	c.ReleaseAt = time.Time{}
	c.AutoRenew = false
	return st.enqueue(now, callback.Event{Activity: callback.ActivityRelease, License: c.Code, OrderID: c.OrderID})
}

// enqueue adds ev to the outbox, due now, and returns its id.
func (st *state) enqueue(now time.Time, ev callback.Event) string {
	body, _ := json.Marshal(ev) // strings only: cannot fail
	c := Callback{ID: "CB" + randomString(20, upperAlnum), Activity: ev.Activity, License: ev.License,
		EventID: ev.EventID, Body: body, Created: now.UTC(), NextAt: now.UTC(), State: CallbackPending}
	st.Outbox = append(st.Outbox, c)
	st.trimOutbox()
	if ev.Activity == callback.ActivityLicense && !st.knownEvent(ev.EventID) {
		st.Events = append(st.Events, ev.EventID)
		if extra := len(st.Events) - maxEvents; extra > 0 {
			st.Events = slices.Delete(st.Events, 0, extra)
		}
	}
	return c.ID
}

// trimOutbox drops the oldest finished callbacks beyond maxFinished.
func (st *state) trimOutbox() {
	finished := 0
	for i := range st.Outbox {
		if st.Outbox[i].finished() {
			finished++
		}
	}
	for i := 0; finished > maxFinished && i < len(st.Outbox); {
		if st.Outbox[i].finished() {
			st.Outbox = slices.Delete(st.Outbox, i, i+1)
			finished--
			continue
		}
		i++
	}
}

// releaseDue and renewalDue say whether the schedule acts on c at now.
func (c *codeRecord) releaseDue(now time.Time) bool {
	return !c.ReleaseAt.IsZero() && !now.Before(c.ReleaseAt)
}

func (c *codeRecord) renewalDue(now time.Time) bool {
	return c.AutoRenew && c.activated() && c.Status == licensing.StatusAlive && !now.Before(c.ExpireTime) && c.term() > 0
}

// scheduleDue reports whether schedule has anything to do at now.
func (st *state) scheduleDue(now time.Time) bool {
	return slices.ContainsFunc(st.Codes, func(c codeRecord) bool { return c.releaseDue(now) || c.renewalDue(now) })
}

// schedule applies the renewals and releases due at now, queueing their
// callbacks.
func (st *state) schedule(now time.Time) {
	for i := range st.Codes {
		c := &st.Codes[i]
		switch {
		case c.releaseDue(now):
			st.release(now, c)
		case c.renewalDue(now):
			for !now.Before(c.ExpireTime) {
				c.ExpireTime = c.ExpireTime.Add(c.term())
			}
			st.enqueue(now, refreshEvent(c, callback.SceneRenewal))
		}
	}
}

// kick wakes the callback loop.
func (s *Server) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunCallbacks works the schedule and the outbox until ctx ends: it applies
// due renewals and scheduled releases, sends due callbacks to the vendor URL
// and records the answers. ListenAndServe runs it; a test serving Handler()
// runs it itself (or calls SendDue). Only one loop may run per Server.
func (s *Server) RunCallbacks(ctx context.Context) {
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for {
		s.SendDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// SendDue applies the due schedule, then tries every callback due now once
// (oldest first), recording each answer before the next try. It returns how
// many it tried. With no vendor URL set nothing is sent.
func (s *Server) SendDue(ctx context.Context) int {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	now := s.now()
	var due bool
	s.view(func(st *state) { due = st.scheduleDue(now) })
	if due {
		if err := s.update(func(st *state) error {
			st.schedule(now)
			return nil
		}); err != nil {
			s.log.Error("sandbox schedule", "err", err)
		}
	}
	var (
		todo   []Callback
		target string
		key    string
	)
	s.view(func(st *state) {
		target, key = st.VendorURL, st.CallbackKey
		for _, c := range st.Outbox {
			if c.State == CallbackPending && !now.Before(c.NextAt) {
				todo = append(todo, c)
			}
		}
	})
	if target == "" {
		return 0
	}
	for _, c := range todo {
		if ctx.Err() != nil {
			break
		}
		code, msg := s.send(ctx, target, key, c)
		if ctx.Err() != nil {
			// Shutting down: the try does not count, and the callback is
			// sent again after the restart (the vendor is idempotent).
			break
		}
		s.record(c.ID, code, msg)
	}
	return len(todo)
}

// errUnchanged aborts an update that has nothing to save.
var errUnchanged = errors.New("unchanged")

// send makes one try of c: signed at now with a fresh nonce, answered within
// the callback timeout. It returns the vendor's resultCode and resultMsg, or a
// description of the failure as code with msg empty.
func (s *Server) send(ctx context.Context, target, key string, c Callback) (code, msg string) {
	start := time.Now()
	// A vendor with one URL per event: {activity} names it.
	target = strings.ReplaceAll(target, ActivityPlaceholder, c.Activity)
	signed, err := callback.SignURL(target, key, c.Body, s.now(), callback.NewNonce())
	if err != nil {
		return "vendor URL unusable", ""
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, signed, bytes.NewReader(c.Body))
	if err != nil {
		return "vendor URL unusable", ""
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	defer func() {
		s.log.Info("sandbox callback", "id", c.ID, "activity", c.Activity, "event", c.EventID,
			"attempt", c.Attempts+1, "result", code, "took", time.Since(start))
	}()
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "no answer within " + s.timeout.String(), ""
		}
		return "vendor unreachable", ""
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "answer not readable", ""
	}
	var a callback.Answer
	if err := json.Unmarshal(data, &a); err != nil || a.ResultCode == "" {
		return fmt.Sprintf("HTTP %d without a resultCode", resp.StatusCode), ""
	}
	return a.ResultCode, a.ResultMsg
}

// outcome classifies an answer to activity: delivered, refused for good,
// or to be tried again (anything else: an internal error, an
// authentication failure the vendor may fix by configuring its key, no
// answer).
func outcome(activity, code string) string {
	switch {
	case code == callback.ResultSuccess,
		code == callback.ResultProcessing && activity == callback.ActivityLicense:
		return CallbackDelivered
	case code == callback.ResultInvalidParam, code == callback.ResultNotFound,
		len(code) == 6 && strings.HasPrefix(code, "0009"):
		return CallbackRefused
	}
	return CallbackPending
}

// record saves the outcome of one try of callback id and schedules the next
// when there is one.
func (s *Server) record(id, code, msg string) {
	now := s.now()
	err := s.update(func(st *state) error {
		i := st.findCallback(id)
		if i < 0 {
			return errUnchanged
		}
		c := &st.Outbox[i]
		c.Attempts++
		c.Result, c.Message = code, msg
		c.State = outcome(c.Activity, code)
		if c.State == CallbackPending {
			if c.Activity == callback.ActivityRelease {
				c.NextAt = now.Add(s.retry.ReleaseInterval)
				if c.Attempts >= s.retry.ReleaseAttempts {
					c.State = CallbackGaveUp
				}
			} else {
				c.NextAt = now.Add(s.retry.Interval)
				if c.NextAt.After(c.Created.Add(s.retry.For)) {
					c.State = CallbackGaveUp
				}
			}
		}
		if c.finished() {
			c.NextAt = time.Time{}
			st.trimOutbox()
		}
		return nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		s.log.Error("sandbox callback: save outcome", "id", id, "err", err)
	}
}

// WaitCallback waits until callback id has been tried at least attempts
// times or is finished, and returns it.
func (s *Server) WaitCallback(ctx context.Context, id string, attempts int) (Callback, error) {
	for {
		s.mu.Lock()
		changed := s.changed
		i := s.st.findCallback(id)
		var c Callback
		if i >= 0 {
			c = s.st.Outbox[i]
		}
		s.mu.Unlock()
		if i < 0 {
			return c, errs.E("sandbox.WaitCallback", errs.NotFound, fmt.Errorf("callback %s", id))
		}
		if c.Attempts >= attempts || c.finished() {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-changed:
		}
	}
}
