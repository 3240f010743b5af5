// Package remote is the license service's way to the vendor license server:
// it adapts the server's HTTP client (server/client, the /v1 API of
// docs/server-api.md) to licensing.Server, turning the server's refusals
// into *licensing.Refusal so that the service knows an activation ended.
//
// It must not import fyne, the keyring or the server's own packages (only
// its client and wire shapes).
package remote

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/server/client"
	"github.com/iscdesk/iscdesk/server/wire"
)

// Server is a licensing.Server over HTTP.
type Server struct{ c *client.Client }

var _ licensing.Server = Server{}

// New returns the server at baseURL; httpClient nil means the client's
// default (a 60 s timeout, the environment's proxy).
func New(baseURL string, httpClient *http.Client, now func() time.Time) Server {
	return Server{c: &client.Client{BaseURL: baseURL, HTTP: httpClient, Now: now}}
}

// Activate implements licensing.Server.
func (s Server) Activate(ctx context.Context, req licensing.ActivateRequest) (licensing.Grant, error) {
	a, err := s.c.Activate(ctx, wire.ActivateRequest{
		Code: req.Code, Fingerprint: req.Fingerprint, DeviceKey: client.DeviceKeyText(req.DeviceKey),
		Host: req.Host, App: req.App, Version: req.Version, RequestID: req.RequestID,
	})
	if err != nil {
		return licensing.Grant{}, refusal(err)
	}
	return licensing.Grant{ActivationID: a.ActivationID, Token: a.Token}, nil
}

// Check implements licensing.Server.
func (s Server) Check(ctx context.Context, activationID string, key ed25519.PrivateKey, fingerprint string) (string, error) {
	tok, err := s.c.Check(ctx, activationID, key, fingerprint)
	return tok, refusal(err)
}

// Deactivate implements licensing.Server.
func (s Server) Deactivate(ctx context.Context, activationID string, key ed25519.PrivateKey) error {
	return refusal(s.c.Deactivate(ctx, activationID, key))
}

// DeviceLicense implements licensing.Server.
func (s Server) DeviceLicense(ctx context.Context, activationID string, key ed25519.PrivateKey, req licensing.DeviceLicenseRequest) (string, error) {
	lic, err := s.c.DeviceLicenseUnderLease(ctx, activationID, key, req.DevInfo, req.Machine, req.LeaseID, req.NotAfter)
	return lic, refusal(err)
}

// Endorsements implements licensing.Server: the endorsements GET /v1/keys
// lists.
func (s Server) Endorsements(ctx context.Context) ([]string, error) {
	keys, err := s.c.Keys(ctx)
	if err != nil {
		return nil, refusal(err)
	}
	var out []string
	for _, k := range keys {
		if k.Endorsement != "" {
			out = append(out, k.Endorsement)
		}
	}
	return out, nil
}

// refusal turns the client's *APIError into the service's terms: a
// *licensing.Refusal when the server named a reason, else the server's
// sentence; either way of the kind the server gave, without the HTTP
// status (the server answered; it is its answer). Other errors (the server
// not reached, an answer not understood) pass as they are.
func refusal(err error) error {
	var ae *client.APIError
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	op := ""
	var e *errs.Error
	if errors.As(err, &e) {
		op = e.Op
	}
	msg := sentence(ae.Message)
	if ae.Reason == "" {
		return errs.E(op, errs.KindOf(err), errors.New(msg))
	}
	r := &licensing.Refusal{Reason: ae.Reason, Message: msg, EarliestEnd: ae.EarliestEnd}
	if ae.Reason == wire.ReasonPoolFull {
		for _, h := range ae.Holders {
			r.Holders = append(r.Holders, licensing.Holder{Host: h.Host, Since: h.ActivatedAt, Until: h.Until})
		}
	}
	return errs.E(op, errs.KindOf(err), r)
}

// sentence is a server's message without the operations and kinds its
// errors carry in front ("activate: license code does not exist
// (92020005): the code …" becomes "the code …"), which the desktop's own
// error puts there once.
func sentence(msg string) string {
	prefixes := []string{"activate", "check", "deactivate", "device license", "request", "lease", "heartbeat", "return lease"}
	for _, k := range errs.Kinds() {
		prefixes = append(prefixes, k.String())
	}
	for trimmed := true; trimmed; {
		trimmed = false
		for _, p := range prefixes {
			rest, ok := strings.CutPrefix(msg, p)
			if !ok {
				continue
			}
			if strings.HasPrefix(rest, " (") {
				if i := strings.Index(rest, "): "); i > 0 && !strings.Contains(rest[:i], ":") {
					rest = rest[i+1:]
				}
			}
			if after, ok := strings.CutPrefix(rest, ": "); ok && after != "" {
				msg, trimmed = after, true
				break
			}
		}
	}
	return msg
}
