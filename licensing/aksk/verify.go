package aksk

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// MaxSkew is how far the X-Sdk-Date of a request may be from the verifier's
// clock, as the marketplace gateway enforces.
const MaxSkew = 15 * time.Minute

// Verification failures. The gateway answers both with APIGW.0301.
var (
	ErrBadSignature = errors.New("aksk: signature does not match")
	ErrClockSkew    = errors.New("aksk: request date outside the allowed window")
	ErrMalformed    = errors.New("aksk: malformed Authorization header")
	ErrUnknownKey   = errors.New("aksk: unknown access key")
)

// Authorization is a parsed Authorization header.
type Authorization struct {
	AK            string
	SignedHeaders []string
	Signature     string
}

// ParseAuthorization parses "SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…".
//
// Any set of signed headers that includes x-sdk-date is accepted, as the
// marketplace gateway accepts it: the date is what bounds a replay (MaxSkew),
// so it must be signed. Host need not be: Huawei's own Go SDK signs only the
// headers it was given, usually x-sdk-date alone (the spec's vectors B and C).
// A request whose host is not signed can be replayed to another host within
// MaxSkew, against the gateway as against a verifier here; Sign always signs
// host.
func ParseAuthorization(h string) (Authorization, error) {
	rest, ok := strings.CutPrefix(h, Algorithm+" ")
	if !ok {
		return Authorization{}, ErrMalformed
	}
	var a Authorization
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Authorization{}, ErrMalformed
		}
		switch k {
		case "Access":
			a.AK = v
		case "SignedHeaders":
			a.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			a.Signature = v
		}
	}
	if a.AK == "" || a.Signature == "" || len(a.SignedHeaders) == 0 {
		return Authorization{}, ErrMalformed
	}
	if !slices.Contains(a.SignedHeaders, "x-sdk-date") {
		return Authorization{}, fmt.Errorf("%w: x-sdk-date must be signed", ErrMalformed)
	}
	return a, nil
}

// Verify checks the signature of a server-side request r whose body has been
// read into body. lookup returns the secret key of an access key. The date must
// be within MaxSkew of now. It returns the access key on success.
func Verify(r *http.Request, body []byte, lookup func(ak string) (sk string, ok bool), now time.Time) (string, error) {
	a, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	t, err := time.Parse(DateFormat, r.Header.Get(DateHeader))
	if err != nil {
		return a.AK, fmt.Errorf("%w: %s", ErrClockSkew, "no valid "+DateHeader)
	}
	if d := now.Sub(t); d > MaxSkew || d < -MaxSkew {
		return a.AK, ErrClockSkew
	}
	sk, ok := lookup(a.AK)
	if !ok {
		return a.AK, ErrUnknownKey
	}
	want, err := Signature(r, body, sk, a.SignedHeaders)
	if err != nil {
		return a.AK, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if !hmac.Equal([]byte(want), []byte(a.Signature)) {
		return a.AK, ErrBadSignature
	}
	return a.AK, nil
}
