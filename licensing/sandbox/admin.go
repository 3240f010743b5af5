package sandbox

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// AdminPrefix is the path prefix of the running sandbox's admin calls
// (outside the marketplace's and iscdesk's API prefixes). Every admin call
// is a POST with a JSON body and the header "Authorization: Bearer TOKEN",
// TOKEN being the state file's admin_token.
const AdminPrefix = "/sandbox/v1/"

// adminWait is how long an admin call that queues a callback waits for its
// first try, so the CLI can print the vendor's answer.
const adminWait = CallbackTimeout + time.Second

// Admin call bodies and answers. Times are yyyyMMddHHmmss, UTC.
type (
	// AdminRefresh is the body of refresh.
	AdminRefresh struct {
		License    string `json:"license"`
		Scene      string `json:"scene,omitempty"` // default RENEWAL
		ExpireTime string `json:"expire_time"`
	}
	// AdminRelease is the body of release: now, or at AT.
	AdminRelease struct {
		License string `json:"license"`
		At      string `json:"at,omitempty"`
		Cancel  bool   `json:"cancel,omitempty"` // cancel a scheduled release
	}
	// AdminAutoRenew is the body of auto-renew.
	AdminAutoRenew struct {
		License string `json:"license"`
		On      bool   `json:"on"`
	}
	// AdminLicense is the body of license (getLicenseAsync).
	AdminLicense struct {
		InstanceID    string `json:"instance_id"`
		EventID       string `json:"event_id,omitempty"`
		Fingerprint   string `json:"device_fingerprint,omitempty"`
		EffectiveTime string `json:"effective_time,omitempty"`
		ExpireTime    string `json:"expire_time,omitempty"`
		TestFlag      string `json:"test_flag,omitempty"`
	}
	// AdminSent answers the calls that queue a callback: the callback after
	// its first try (or still pending when no vendor URL is set or the
	// vendor did not answer within the wait).
	AdminSent struct {
		Callback Callback `json:"callback"`
	}
	// AdminCount is the body of fail-uploads.
	AdminCount struct {
		Count int `json:"count"`
	}
	// AdminURL is the body of vendor-url.
	AdminURL struct {
		URL string `json:"url"`
	}
	// AdminEvent is the body of uploads (an empty event lists all).
	AdminEvent struct {
		EventID string `json:"event_id,omitempty"`
	}
	// adminError is the answer of a failed admin call.
	adminError struct {
		Kind  string `json:"kind"`
		Error string `json:"error"`
	}
)

// admin answers an admin call: token first, then the operation.
func (s *Server) admin(r *http.Request, op string) answer {
	if r.Method != http.MethodPost {
		return notAllowed(r.Method, http.MethodPost)
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var want string
	s.view(func(st *state) { want = st.AdminToken })
	if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(want)) != 1 {
		return adminFailed(errs.E("sandbox admin", errs.Credentials, errors.New("admin token missing or wrong (it is admin_token in the sandbox state file)")))
	}
	body, a, ok := readBody(r)
	if !ok {
		return a
	}
	v, err := s.adminOp(r.Context(), op, body)
	if err != nil {
		return adminFailed(err)
	}
	return answer{status: http.StatusOK, code: "ok", body: v}
}

func adminFailed(err error) answer {
	k := errs.KindOf(err)
	status := http.StatusInternalServerError
	switch k {
	case errs.Invalid:
		status = http.StatusBadRequest
	case errs.NotFound, errs.NotExist:
		status = http.StatusNotFound
	case errs.NotActivated, errs.Released:
		status = http.StatusConflict
	case errs.Credentials:
		status = http.StatusUnauthorized
	}
	return answer{status: status, code: k.Name(), body: adminError{Kind: k.Name(), Error: err.Error()}}
}

func decodeAdmin[T any](body []byte, v *T) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errs.E("sandbox admin", errs.Invalid, fmt.Errorf("body: %v", err))
	}
	return nil
}

func adminTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(wire.TimeLayout, v, time.UTC)
	if err != nil {
		return t, errs.E("sandbox admin", errs.Invalid, fmt.Errorf("%s %q: want yyyyMMddHHmmss (UTC)", name, v))
	}
	return t, nil
}

func (s *Server) adminOp(ctx context.Context, op string, body []byte) (any, error) {
	switch op {
	case "refresh":
		var b AdminRefresh
		if err := decodeAdmin(body, &b); err != nil {
			return nil, err
		}
		exp, err := adminTime("expire_time", b.ExpireTime)
		if err != nil {
			return nil, err
		}
		if b.Scene == "" {
			b.Scene = callback.SceneRenewal
		}
		id, err := s.Refresh(b.License, b.Scene, exp)
		return s.sent(ctx, id, err)
	case "release":
		var b AdminRelease
		if err := decodeAdmin(body, &b); err != nil {
			return nil, err
		}
		at, err := adminTime("at", b.At)
		if err != nil {
			return nil, err
		}
		if b.Cancel || !at.IsZero() {
			return struct{}{}, s.ScheduleRelease(b.License, at)
		}
		id, err := s.Release(b.License)
		return s.sent(ctx, id, err)
	case "auto-renew":
		var b AdminAutoRenew
		if err := decodeAdmin(body, &b); err != nil {
			return nil, err
		}
		return struct{}{}, s.SetAutoRenew(b.License, b.On)
	case "license":
		var b AdminLicense
		if err := decodeAdmin(body, &b); err != nil {
			return nil, err
		}
		eff, err := adminTime("effective_time", b.EffectiveTime)
		if err != nil {
			return nil, err
		}
		exp, err := adminTime("expire_time", b.ExpireTime)
		if err != nil {
			return nil, err
		}
		id, _, err := s.RequestLicense(AsyncLicense{InstanceID: b.InstanceID, EventID: b.EventID,
			Fingerprint: b.Fingerprint, Effective: eff, Expire: exp, TestFlag: b.TestFlag})
		return s.sent(ctx, id, err)
	case "callbacks":
		return s.Callbacks(), nil
	case "uploads":
		var b AdminEvent
		if err := decodeAdmin(body, &b); err != nil {
			return nil, err
		}
		list := []Upload{}
		for _, u := range s.Uploads() {
			if b.EventID == "" || u.EventID == b.EventID {
				list = append(list, u)
			}
		}
		return list, nil
	case "fail-uploads":
		var b AdminCount
		if err := decodeAdmin(body, &b); err != nil {
			return nil, err
		}
		return struct{}{}, s.FailUploads(b.Count)
	case "vendor-url":
		var b AdminURL
		if err := decodeAdmin(body, &b); err != nil {
			return nil, err
		}
		return struct{}{}, s.SetVendorURL(b.URL)
	}
	return nil, errs.E("sandbox admin", errs.NotExist, fmt.Errorf("no admin call %q", op))
}

// sent waits for the first try of callback id when a vendor URL is set.
func (s *Server) sent(ctx context.Context, id string, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if s.VendorURL() != "" {
		ctx, cancel := context.WithTimeout(ctx, adminWait)
		defer cancel()
		c, _ := s.WaitCallback(ctx, id, 1)
		return AdminSent{Callback: c}, nil
	}
	c, _ := s.CallbackByID(id)
	return AdminSent{Callback: c}, nil
}

// Admin calls a running sandbox's admin API: what `iscdesk sandbox
// release …` and the other admin subcommands use.
type Admin struct {
	URL   string // the sandbox's base URL, http://HOST:PORT
	Token string // admin_token from the state file
	HTTP  *http.Client
}

// AdminFor reads the admin token from the state file at statePath (which
// only its owner can read) for the sandbox listening at baseURL.
func AdminFor(statePath, baseURL string) (*Admin, error) {
	st, err := readState(statePath)
	if err != nil {
		return nil, err
	}
	if st.AdminToken == "" {
		return nil, errs.E("sandbox admin", errs.NotExist, errors.New("the state file has no admin token yet: start the sandbox once"))
	}
	return &Admin{URL: strings.TrimSuffix(baseURL, "/"), Token: st.AdminToken}, nil
}

// Call makes admin call op with body in and decodes its answer into out
// (nil discards it). A refusal is an error of the kind the sandbox named.
func (a *Admin) Call(ctx context.Context, op string, in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL+AdminPrefix+op, bytes.NewReader(data))
	if err != nil {
		return errs.E("sandbox admin", errs.Invalid, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.Token)
	client := a.HTTP
	if client == nil {
		client = &http.Client{Timeout: adminWait + 5*time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return errs.E("sandbox admin", errs.Unavailable, fmt.Errorf("sandbox at %s: %w", a.URL, err))
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return errs.E("sandbox admin", errs.Unavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e adminError
		if json.Unmarshal(ans, &e) != nil || e.Error == "" {
			return errs.E("sandbox admin", errs.Protocol, fmt.Errorf("HTTP %d from %s", resp.StatusCode, a.URL))
		}
		k, ok := errs.ParseKind(e.Kind)
		if !ok {
			k = errs.Other
		}
		return errs.E("sandbox admin", k, errors.New(e.Error))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(ans, out); err != nil {
		return errs.E("sandbox admin", errs.Protocol, fmt.Errorf("answer: %v", err))
	}
	return nil
}
