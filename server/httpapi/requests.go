package httpapi

// The request bodies of /v1 and their decoding: one JSON object, at most
// MaxBodyBytes, unknown fields ignored (a newer desktop may send more), each
// field checked further by the domain.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/wire"
)

// MaxBodyBytes caps every request body.
const MaxBodyBytes = wire.MaxBodyBytes

// SignatureHeader carries the device key's signature.
const SignatureHeader = wire.SignatureHeader

func decodeObject(body []byte, v any) error {
	// JSON's own white space only: bytes.TrimSpace would also drop a form
	// feed, which JSON refuses (the fuzzer found "{}\f").
	b := bytes.Trim(body, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return errors.New("body must be one JSON object")
	}
	// Valid first: a decoder stops after the first value, and its More
	// does not see a stray "}" after it (the fuzzer found "{}}").
	if !json.Valid(b) {
		return errors.New("body: not one well-formed JSON object")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("body: %v", err)
	}
	return nil
}

// ParseActivate decodes an activate body.
func ParseActivate(body []byte) (server.ActivateRequest, error) {
	var b wire.ActivateRequest
	if err := decodeObject(body, &b); err != nil {
		return server.ActivateRequest{}, err
	}
	key, err := base64.StdEncoding.DecodeString(b.DeviceKey)
	if err != nil {
		key, err = base64.RawURLEncoding.DecodeString(b.DeviceKey)
	}
	if err != nil {
		return server.ActivateRequest{}, errors.New("device_key: not base64")
	}
	return server.ActivateRequest{Code: b.Code, Fingerprint: b.Fingerprint, DeviceKey: key, Host: b.Host,
		App: b.App, Version: b.Version, RequestID: b.RequestID, Machine: b.Machine}, nil
}

func signed(b wire.Signed, body []byte, sig string) (server.Signed, error) {
	t, err := time.Parse(time.RFC3339, b.Time)
	if err != nil {
		return server.Signed{}, errors.New("time: want RFC 3339")
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	// A header of white space only decodes to nothing: missing too (the
	// fuzzer found "\r").
	if err != nil || len(raw) == 0 {
		return server.Signed{}, errMissingSignature
	}
	return server.Signed{ActivationID: b.ActivationID, Time: t, Nonce: b.Nonce, Body: body, Signature: raw}, nil
}

var errMissingSignature = errors.New("the " + SignatureHeader + " header (base64 Ed25519 signature of the body by the device key) is missing or not base64")

// ParseCheck decodes a check (or deactivate) body signed by sig.
func ParseCheck(body []byte, sig string) (server.CheckRequest, error) {
	var b wire.CheckRequest
	if err := decodeObject(body, &b); err != nil {
		return server.CheckRequest{}, err
	}
	s, err := signed(b.Signed, body, sig)
	if err != nil {
		return server.CheckRequest{}, err
	}
	return server.CheckRequest{Signed: s, Fingerprint: b.Fingerprint}, nil
}

// ParseDeviceLicense decodes a device-license body signed by sig.
func ParseDeviceLicense(body []byte, sig string) (server.DeviceLicenseRequest, error) {
	var b wire.DeviceLicenseRequest
	if err := decodeObject(body, &b); err != nil {
		return server.DeviceLicenseRequest{}, err
	}
	s, err := signed(b.Signed, body, sig)
	if err != nil {
		return server.DeviceLicenseRequest{}, err
	}
	r := server.DeviceLicenseRequest{Signed: s, DevInfo: b.DevInfo, Machine: b.Machine, LeaseID: b.LeaseID}
	if b.NotAfter != "" {
		if r.NotAfter, err = time.Parse(time.RFC3339, b.NotAfter); err != nil {
			return server.DeviceLicenseRequest{}, errors.New("not_after: want RFC 3339")
		}
	}
	return r, nil
}

// ParseLease decodes a lease body signed by sig.
func ParseLease(body []byte, sig string) (server.LeaseRequest, error) {
	var b wire.LeaseRequest
	if err := decodeObject(body, &b); err != nil {
		return server.LeaseRequest{}, err
	}
	s, err := signed(b.Signed, body, sig)
	if err != nil {
		return server.LeaseRequest{}, err
	}
	return server.LeaseRequest{Signed: s, RequestID: b.RequestID, App: b.App, BorrowDays: b.BorrowDays,
		DevInfo: b.DevInfo, Machine: b.Machine}, nil
}

// ParseOfflineAnswer decodes the body of POST /v1/offline/answer: the
// request file's text.
func ParseOfflineAnswer(body []byte) (string, error) {
	var b wire.OfflineAnswerRequest
	if err := decodeObject(body, &b); err != nil {
		return "", err
	}
	if b.Request == "" {
		return "", errors.New("request: missing (the request file's text)")
	}
	return b.Request, nil
}
