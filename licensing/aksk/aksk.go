// Package aksk signs and verifies marketplace API requests with the
// SDK-HMAC-SHA256 scheme (AK/SK signing), as the marketplace spec describes.
//
// The secret key never leaves this package in any form but an HMAC: it is not
// logged, and Credentials redacts itself when printed.
//
// It imports only the standard library.
package aksk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Algorithm is the scheme name in the Authorization header and string to sign.
const Algorithm = "SDK-HMAC-SHA256"

// DateHeader carries the signing time; DateFormat is its layout (UTC).
const (
	DateHeader = "X-Sdk-Date"
	DateFormat = "20060102T150405Z"
)

// emptyBodyHash is hex(SHA-256("")).
const emptyBodyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Credentials are a marketplace access key and secret key. Printing them with
// any fmt verb shows the access key's first characters only.
type Credentials struct {
	AK string
	SK string
}

// String redacts the secret key and most of the access key.
func (c Credentials) String() string {
	return fmt.Sprintf("aksk.Credentials{AK: %s, SK: [redacted]}", MaskAK(c.AK))
}

// GoString redacts like String, so %#v does not leak either.
func (c Credentials) GoString() string { return c.String() }

// Valid reports whether both keys are set.
func (c Credentials) Valid() bool { return c.AK != "" && c.SK != "" }

// MaskAK shows at most the first 4 characters of an access key.
func MaskAK(ak string) string {
	if len(ak) <= 4 {
		return strings.Repeat("*", len(ak))
	}
	return ak[:4] + strings.Repeat("*", len(ak)-4)
}

// Sign sets the X-Sdk-Date header (to now, unless the request already has
// one) and the Authorization header on r. Every header already on r is signed,
// plus host; headers a transport adds later (User-Agent, Content-Length) are
// not. body must be exactly the bytes that will be sent.
func Sign(r *http.Request, body []byte, cred Credentials, now time.Time) error {
	if !cred.Valid() {
		return errors.New("aksk: access key or secret key missing")
	}
	if r.Header.Get(DateHeader) == "" {
		r.Header.Set(DateHeader, now.UTC().Format(DateFormat))
	}
	r.Header.Del("Authorization")
	signed := []string{"host"}
	for name := range r.Header {
		signed = append(signed, strings.ToLower(name))
	}
	slices.Sort(signed)
	signed = slices.Compact(signed)
	sig, err := Signature(r, body, cred.SK, signed)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", fmt.Sprintf("%s Access=%s, SignedHeaders=%s, Signature=%s",
		Algorithm, cred.AK, strings.Join(signed, ";"), sig))
	return nil
}

// Signature computes the lower-case hex signature of r over the given signed
// header names (lower case). It reads X-Sdk-Date from r.
func Signature(r *http.Request, body []byte, sk string, signed []string) (string, error) {
	date := r.Header.Get(DateHeader)
	if date == "" {
		return "", errors.New("aksk: request has no " + DateHeader + " header")
	}
	cr, err := CanonicalRequest(r, body, signed)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(cr))
	sts := Algorithm + "\n" + date + "\n" + hex.EncodeToString(h[:])
	m := hmac.New(sha256.New, []byte(sk))
	m.Write([]byte(sts))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// CanonicalRequest builds the canonical request of the spec: method, canonical
// URI (always ending in '/'), canonical query, canonical headers, signed
// header names, body hash, joined by '\n'.
func CanonicalRequest(r *http.Request, body []byte, signed []string) (string, error) {
	var b strings.Builder
	b.Grow(256 + len(r.URL.RawQuery))
	b.WriteString(strings.ToUpper(r.Method))
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL.EscapedPath()))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.Query()))
	b.WriteByte('\n')
	names := make([]string, len(signed))
	for i, n := range signed {
		names[i] = strings.ToLower(n)
	}
	slices.Sort(names)
	for _, n := range names {
		var v string
		if n == "host" {
			v = r.Host
			if v == "" {
				v = r.URL.Host
			}
		} else {
			vs := r.Header.Values(n)
			if len(vs) == 0 {
				return "", fmt.Errorf("aksk: signed header %q is not on the request", n)
			}
			v = strings.Join(vs, ",")
		}
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.TrimSpace(v))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(names, ";"))
	b.WriteByte('\n')
	if len(body) == 0 {
		b.WriteString(emptyBodyHash)
	} else {
		h := sha256.Sum256(body)
		b.WriteString(hex.EncodeToString(h[:]))
	}
	return b.String(), nil
}

// canonicalURI re-encodes each segment of an escaped path and makes sure the
// result ends in '/'.
func canonicalURI(escaped string) string {
	segs := strings.Split(escaped, "/")
	for i, s := range segs {
		if u, err := unescape(s); err == nil {
			segs[i] = Escape(u)
		}
	}
	p := strings.Join(segs, "/")
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func canonicalQuery(q map[string][]string) string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		vs := slices.Clone(q[k])
		slices.Sort(vs)
		for _, v := range vs {
			parts = append(parts, Escape(k)+"="+Escape(v))
		}
	}
	return strings.Join(parts, "&")
}

// Escape percent-encodes s per RFC 3986: only A-Z a-z 0-9 - _ . ~ stay.
func Escape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("bad escape")
		}
		var v byte
		for _, c := range []byte(s[i+1 : i+3]) {
			v <<= 4
			switch {
			case '0' <= c && c <= '9':
				v |= c - '0'
			case 'a' <= c && c <= 'f':
				v |= c - 'a' + 10
			case 'A' <= c && c <= 'F':
				v |= c - 'A' + 10
			default:
				return "", errors.New("bad escape")
			}
		}
		b.WriteByte(v)
		i += 2
	}
	return b.String(), nil
}
