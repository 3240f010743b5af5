// Package client calls the vendor license server's /v1 API (package wire)
// the way a desktop does: activate with a device key, then check,
// deactivate and ask for device licenses with requests signed by that key.
// An error answer becomes an *errs.Error of the kind the server named,
// wrapping an *APIError with the reason and the seat holders.
//
// It imports the standard library, internal/errs and server/wire only, so
// the desktop can use it without the server (internal/layers checks this).
package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/server/wire"
)

// maxAnswerBytes caps an answer.
const maxAnswerBytes = 256 << 10

// Client talks to one server.
type Client struct {
	BaseURL string       // e.g. https://license.example.com
	HTTP    *http.Client // nil: a client with a 60 s timeout
	Now     func() time.Time
}

// APIError is an error answer of the server.
type APIError struct {
	Status int
	wire.ErrorDetail
}

func (e *APIError) Error() string { return e.Message }

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 60 * time.Second}
}

// Activate asks for a seat.
func (c *Client) Activate(ctx context.Context, req wire.ActivateRequest) (wire.ActivateAnswer, error) {
	var out wire.ActivateAnswer
	body, err := json.Marshal(req)
	if err != nil {
		return out, err
	}
	return out, c.post(ctx, "activate", wire.PathActivate, body, "", &out)
}

// DeviceKeyText encodes a device public key for ActivateRequest.DeviceKey.
func DeviceKeyText(pub ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(pub) }

// Check asks for a fresh token; fingerprint may be "".
func (c *Client) Check(ctx context.Context, activationID string, key ed25519.PrivateKey, fingerprint string) (string, error) {
	var out wire.TokenAnswer
	err := c.signedPost(ctx, "check", wire.PathCheck, key, wire.CheckRequest{Signed: c.signed(activationID), Fingerprint: fingerprint}, &out)
	return out.Token, err
}

// Deactivate frees the seat.
func (c *Client) Deactivate(ctx context.Context, activationID string, key ed25519.PrivateKey) error {
	var out struct{}
	return c.signedPost(ctx, "deactivate", wire.PathDeactivate, key, wire.CheckRequest{Signed: c.signed(activationID)}, &out)
}

// DeviceLicense asks for a device license bound to devinfo; notAfter may be
// zero.
func (c *Client) DeviceLicense(ctx context.Context, activationID string, key ed25519.PrivateKey, devinfo string, notAfter time.Time) (string, error) {
	return c.DeviceLicenseOnMachine(ctx, activationID, key, devinfo, "", notAfter)
}

// DeviceLicenseOnMachine is DeviceLicense binding the protected OS machine
// id machine too (required when devinfo names a single unit part; "" for
// none).
func (c *Client) DeviceLicenseOnMachine(ctx context.Context, activationID string, key ed25519.PrivateKey, devinfo, machine string, notAfter time.Time) (string, error) {
	return c.DeviceLicenseUnderLease(ctx, activationID, key, devinfo, machine, "", notAfter)
}

// DeviceLicenseUnderLease is DeviceLicenseOnMachine under the lease leaseID
// ("" for none), which a floating product requires: the license ends with
// the lease.
func (c *Client) DeviceLicenseUnderLease(ctx context.Context, activationID string, key ed25519.PrivateKey, devinfo, machine, leaseID string, notAfter time.Time) (string, error) {
	req := wire.DeviceLicenseRequest{Signed: c.signed(activationID), DevInfo: devinfo, Machine: machine, LeaseID: leaseID}
	if !notAfter.IsZero() {
		req.NotAfter = notAfter.UTC().Format(time.RFC3339)
	}
	var out wire.LicenseAnswer
	err := c.signedPost(ctx, "device license", wire.PathDeviceLicense, key, req, &out)
	return out.License, err
}

// Keys lists the published vendor keys.
func (c *Client) Keys(ctx context.Context) ([]wire.Key, error) {
	var out wire.KeysAnswer
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+wire.PathKeys, nil)
	if err != nil {
		return nil, err
	}
	return out.Keys, c.do("keys", req, &out)
}

func (c *Client) signed(activationID string) wire.Signed {
	b := make([]byte, 16)
	rand.Read(b)
	return wire.Signed{ActivationID: activationID, Time: c.now().UTC().Format(time.RFC3339), Nonce: hex.EncodeToString(b)}
}

func (c *Client) signedPost(ctx context.Context, op, path string, key ed25519.PrivateKey, v any, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.post(ctx, op, path, body, base64.StdEncoding.EncodeToString(ed25519.Sign(key, body)), out)
}

func (c *Client) post(ctx context.Context, op, path string, body []byte, sig string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return errs.E(op, errs.Invalid, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(wire.SignatureHeader, sig)
	}
	return c.do(op, req, out)
}

func (c *Client) do(op string, req *http.Request, out any) error {
	resp, err := c.http().Do(req)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return errs.E(op, errs.Canceled, err)
		}
		return errs.E(op, errs.Unavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return errs.E(op, errs.Unavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb wire.ErrorBody
		if json.Unmarshal(raw, &eb) != nil || eb.Error.Kind == "" {
			kind := errs.Protocol
			if resp.StatusCode >= 500 {
				kind = errs.Unavailable
			}
			return &errs.Error{Op: op, Kind: kind, Code: fmt.Sprintf("HTTP %d", resp.StatusCode), Err: errors.New("answer without an error body")}
		}
		kind, ok := errs.ParseKind(eb.Error.Kind)
		if !ok {
			kind = errs.Protocol
		}
		return &errs.Error{Op: op, Kind: kind, Code: fmt.Sprintf("HTTP %d", resp.StatusCode), Err: &APIError{Status: resp.StatusCode, ErrorDetail: eb.Error}}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return errs.E(op, errs.Protocol, fmt.Errorf("answer: %v", err))
	}
	return nil
}
