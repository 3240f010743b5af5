// Package callback is the wire format of the marketplace's calls to the
// vendor's server (License 2.0 callbacks and the asynchronous license
// request) and of the file-upload API that answers the latter: event bodies,
// result codes, the HMAC-SHA256 signature of incoming calls, the upload's
// multipart part names and answer codes.
//
// The vendor server (package server and server/httpapi) verifies and reads
// these; the local sandbox (licensing/sandbox) signs and sends them, and
// receives the uploads. Like licensing/marketplace/wire it holds shapes and
// the signature rule, no policy and no I/O, and imports only the standard
// library.
//
// The signature (spec: marketplace-callbacks.md):
//
//	inner     = lower-hex(HMAC-SHA256(accessKey, body))
//	canonical = accessKey + nonce + timestamp + inner
//	signature = HEX(HMAC-SHA256(accessKey, canonical))
//
// sent as the query parameters signature, timestamp (Unix milliseconds, 13
// digits) and nonce appended to the vendor's URL.
package callback

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Query parameter names of a signed call.
const (
	ParamSignature = "signature"
	ParamTimestamp = "timestamp"
	ParamNonce     = "nonce"
)

// Window is how far a call's timestamp may be from the receiver's clock.
const Window = 60 * time.Second

// MaxNonce caps a nonce's length (the marketplace sends short random
// strings; anything longer is refused before it reaches the nonce store).
const MaxNonce = 128

// MaxBody caps a callback body.
const MaxBody = 16 << 10

// Result codes of the vendor's answers to callbacks.
const (
	ResultSuccess        = "000000"
	ResultAuthFailed     = "000001"
	ResultInvalidParam   = "000002"
	ResultNotFound       = "000003" // instance or license not found
	ResultProcessing     = "000004" // asynchronous: delivery follows
	ResultInternal       = "000005"
	ResultNoQuota        = "000900" // no remaining license quota on the order
	ResultOutsideValid   = "000901" // applied outside the order's validity
	ResultNeedExpiry     = "000902" // a periodic license needs an expiry time
	ResultNeedDeviceInfo = "000903" // a device fingerprint is required
)

// Answer is the body of every answer to a callback.
type Answer struct {
	ResultCode string `json:"resultCode"`
	ResultMsg  string `json:"resultMsg"`
}

// Errors of Verify, tested with errors.Is.
var (
	ErrMissing   = errors.New("signature, timestamp or nonce missing")
	ErrTimestamp = errors.New("timestamp malformed or outside the allowed window")
	ErrSignature = errors.New("signature does not match")
)

// Timestamp renders t as the marketplace does: Unix milliseconds.
func Timestamp(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// NewNonce returns a fresh random nonce (32 hex digits).
func NewNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Sign returns the signature (upper-case hex, as the published examples
// show) of body sent with nonce and timestamp, under accessKey.
func Sign(accessKey, nonce, timestamp string, body []byte) string {
	return strings.ToUpper(hex.EncodeToString(mac(accessKey, nonce, timestamp, body)))
}

func mac(accessKey, nonce, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(accessKey))
	h.Write(body)
	inner := hex.EncodeToString(h.Sum(nil))
	h = hmac.New(sha256.New, []byte(accessKey))
	h.Write([]byte(accessKey + nonce + timestamp + inner))
	return h.Sum(nil)
}

// SignURL appends signature, timestamp and nonce for body to the vendor's
// URL raw, keeping its own query.
func SignURL(raw, accessKey string, body []byte, now time.Time, nonce string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	ts := Timestamp(now)
	q := u.Query()
	q.Set(ParamSignature, Sign(accessKey, nonce, ts, body))
	q.Set(ParamTimestamp, ts)
	q.Set(ParamNonce, nonce)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Verify checks the signature of a call carrying q (the request's query)
// and body, received at now: the three parameters present, the timestamp
// 13 digits within Window of now, the signature (hex, any case) right,
// compared in constant time. It returns the nonce, which the caller must
// refuse when seen before (Verify keeps no state). Errors wrap ErrMissing,
// ErrTimestamp or ErrSignature.
func Verify(accessKey string, q url.Values, body []byte, now time.Time) (nonce string, err error) {
	return verify(q.Get(ParamSignature), q.Get(ParamTimestamp), q.Get(ParamNonce), now, func(nonce, ts string) []byte {
		return mac(accessKey, nonce, ts, body)
	})
}

// Header names of the header form, which some kit interfaces use: the
// signature covers accessKey + nonce + timestamp + body directly.
const (
	HeaderSignature = "X-Sign"
	HeaderTimestamp = "X-Timestamp"
	HeaderNonce     = "X-Nonce"
)

// SignHeader returns the header form's signature (upper-case hex):
// HMAC-SHA256(accessKey, accessKey + nonce + timestamp + body).
func SignHeader(accessKey, nonce, timestamp string, body []byte) string {
	return strings.ToUpper(hex.EncodeToString(headerMAC(accessKey, nonce, timestamp, body)))
}

func headerMAC(accessKey, nonce, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(accessKey))
	h.Write([]byte(accessKey + nonce + timestamp))
	h.Write(body)
	return h.Sum(nil)
}

// VerifyHeader is Verify for the header form: get returns a request
// header (http.Header.Get), the timestamp rule is the same.
func VerifyHeader(accessKey string, get func(name string) string, body []byte, now time.Time) (nonce string, err error) {
	return verify(get(HeaderSignature), get(HeaderTimestamp), get(HeaderNonce), now, func(nonce, ts string) []byte {
		return headerMAC(accessKey, nonce, ts, body)
	})
}

func verify(sig, ts, nonce string, now time.Time, want func(nonce, ts string) []byte) (string, error) {
	if sig == "" || ts == "" || nonce == "" {
		return "", ErrMissing
	}
	if len(nonce) > MaxNonce {
		return "", fmt.Errorf("%w: nonce longer than %d bytes", ErrMissing, MaxNonce)
	}
	if len(ts) != 13 {
		return "", fmt.Errorf("%w: want 13 digits of Unix milliseconds", ErrTimestamp)
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ms < 0 {
		return "", fmt.Errorf("%w: want 13 digits of Unix milliseconds", ErrTimestamp)
	}
	if d := now.Sub(time.UnixMilli(ms)); d > Window || d < -Window {
		return "", fmt.Errorf("%w: %s away from the server's clock (at most %s)", ErrTimestamp, d.Round(time.Second), Window)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return "", fmt.Errorf("%w: not hex", ErrSignature)
	}
	if !hmac.Equal(got, want(nonce, ts)) {
		return "", ErrSignature
	}
	return nonce, nil
}
