package marketplace

// The client side of the extension calls that are signed like the license
// API (wire/extension.go). They go through the same call path as activate and
// query, so they get the same signing, retries, deadlines, size cap, result
// table and redirect refusal.

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/token"
)

// The operations named in errors.
const (
	opDeviceLicense = "device license"
	opVendorKey     = "vendor key"
)

// DeviceLicenseRequest asks for a device license.
type DeviceLicenseRequest struct {
	// License is the activated license code the device license is for.
	License string
	// DevInfo is the device fingerprint (MAC|disk|board|CPU) the license is
	// bound to, as the vendor's program passed it; at most wire.MaxDevInfoBytes.
	DevInfo string
	// NotAfter, when not zero, caps the expiry of the device license (sent
	// with one-second precision); the code's own expiry caps it anyway.
	NotAfter time.Time
	// Machine is the protected OS machine id the license also binds
	// (fingerprint/osid): required when DevInfo has a single unit part
	// (devinfo.Components.NeedsMachineID), empty otherwise.
	Machine string
}

// IssueDeviceLicense asks the endpoint for a device license: a compact JWS,
// signed with the vendor's Ed25519 key, binding req.License to req.DevInfo
// until the code expires (or req.NotAfter, if earlier). The vendor's program
// verifies it offline with the vendor's public key.
//
// The token is checked for its shape and for being about this code and this
// device, not for its signature: the client does not hold the vendor key,
// the vendor's program does. A code that exists but is expired or released
// is confirmed with a query, so the error has kind Expired or Released.
func (c *Client) IssueDeviceLicense(ctx context.Context, req DeviceLicenseRequest) (string, error) {
	code, err := c.precheck(opDeviceLicense, req.License)
	if err != nil {
		return "", err
	}
	if err := checkDevInfo(req.DevInfo, req.Machine); err != nil {
		return "", errs.E(opDeviceLicense, errs.Invalid, err)
	}
	body := wire.DeviceLicenseBody{License: code, DevInfo: req.DevInfo, Machine: req.Machine}
	if !req.NotAfter.IsZero() {
		body.NotAfter = req.NotAfter.UTC().Format(wire.TimeLayout)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	data, err := c.call(ctx, opDeviceLicense, wire.PathDeviceLicense, body)
	if hasCode(err, wire.CodeIllegalState) {
		return "", c.whyUnusable(ctx, code, err)
	}
	if err != nil {
		return "", err
	}
	tok, err := parseDeviceLicenseData(code, req.DevInfo, req.Machine, data)
	if err != nil {
		return "", c.protocolError(opDeviceLicense, err)
	}
	return tok, nil
}

// whyUnusable turns a refusal for the code's state (92020003, kind Other in
// the result table, which cannot know the state) into Expired or Released
// when a query confirms it, so that callers can tell the user what to do.
// Otherwise the refusal stands as it came.
func (c *Client) whyUnusable(ctx context.Context, code string, refusal error) error {
	lic, err := c.query(ctx, code)
	if err != nil {
		return refusal
	}
	kind, unusable := statusKind(lic.Status)
	if !unusable {
		return refusal
	}
	return &errs.Error{Op: opDeviceLicense, Kind: kind, Code: wire.CodeIllegalState,
		Err: fmt.Errorf("license code is %s", lic.Status)}
}

// VendorKey asks the endpoint for the vendor's Ed25519 public key, the key
// that verifies the device licenses it issues. The call is signed, so the
// answer comes from the endpoint the client trusts with its AK/SK.
func (c *Client) VendorKey(ctx context.Context) (ed25519.PublicKey, error) {
	if !c.cred.Valid() {
		return nil, errs.E(opVendorKey, errs.Credentials, errors.New("no marketplace access key and secret key configured"))
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// The license API refuses an empty body as unreadable; {} is the
	// smallest JSON object.
	data, err := c.call(ctx, opVendorKey, wire.PathVendorKey, struct{}{})
	if err != nil {
		return nil, err
	}
	key, err := parseVendorKey(data)
	if err != nil {
		return nil, c.protocolError(opVendorKey, err)
	}
	return key, nil
}

// parseVendorKey reads the data of a vendor key answer (VendorKeyData): the
// algorithm must be EdDSA and the key exactly ed25519.PublicKeySize bytes of
// base64, decoded by package token so that the agent and the vendor's
// program read a key the same way.
func parseVendorKey(raw json.RawMessage) (ed25519.PublicKey, error) {
	var d struct {
		Alg       string `json:"alg"`
		PublicKey string `json:"public_key"`
	}
	if err := unmarshalData(raw, &d); err != nil {
		return nil, err
	}
	if d.Alg != wire.VendorKeyAlg {
		return nil, fmt.Errorf("vendor key algorithm %s, want %s", quote(d.Alg), wire.VendorKeyAlg)
	}
	key, err := token.ParsePublicKey(d.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("vendor public key: %v", err)
	}
	return key, nil
}

// checkDevInfo refuses, before anything is sent, a fingerprint (and machine
// id) the endpoint would refuse. Its errors do not repeat them: they
// identify the machine.
func checkDevInfo(dev, machine string) error {
	switch {
	case dev == "":
		return errors.New("devInfo: empty")
	case len(dev) > wire.MaxDevInfoBytes:
		return fmt.Errorf("devInfo: %d bytes, at most %d", len(dev), wire.MaxDevInfoBytes)
	case !utf8.ValidString(dev) || strings.IndexFunc(dev, isControl) >= 0:
		return errors.New("devInfo: not printable text")
	}
	c, err := devinfo.Parse(dev)
	switch {
	case err != nil:
		return errors.New("devInfo: not a MAC|disk|board|CPU fingerprint")
	case c.Units() == 0:
		return errors.New("devInfo: names no network card, disk or board, so it binds to no machine")
	case c.NeedsMachineID() && machine == "":
		return errors.New("devInfo has a single unit part: the machine id is required with it")
	case machine != "" && !wire.ValidMachineID(machine):
		return fmt.Errorf("machine id: want %d lower-case hex digits", wire.MachineIDLen)
	}
	return nil
}

// parseDeviceLicenseData extracts the token of a device license answer and
// checks that it is a well-formed device license (token.Parse: everything
// but the signature, which only the vendor's program can check) about code,
// dev and machine (an issuer that drops the machine id would hand out a
// license the vendor's program refuses). A token for another code or device would be refused by the
// vendor's program later, with a less helpful message; refusing it here
// names the culprit.
func parseDeviceLicenseData(code, dev, machine string, raw json.RawMessage) (string, error) {
	var d struct {
		Token string `json:"token"`
	}
	if err := unmarshalData(raw, &d); err != nil {
		return "", err
	}
	tok := strings.TrimSpace(d.Token)
	if tok == "" {
		return "", errors.New("answer without data.token")
	}
	claims, err := token.Parse(tok)
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(claims.License, code) {
		return "", fmt.Errorf("token is about another license code %s", quote(claims.License))
	}
	if claims.DevInfo != dev {
		return "", errors.New("token is bound to another device")
	}
	if claims.Machine != machine {
		return "", errors.New("token is bound to another machine id")
	}
	return tok, nil
}
