package marketplace

// Parsing of answers. The marketplace adds fields at will and some mirrors
// send numbers where the published examples show strings, so everything here
// is lenient about shape and strict about meaning: unknown keys are ignored,
// a number may stand for a string and the reverse, but a status, a time or an
// id that cannot be understood is an error (the caller makes it a Protocol
// error), never a panic and never a guess.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// MaxResponseBytes caps the body of an answer; a longer answer is a Protocol
// error. Real answers are well under 4 KiB.
const MaxResponseBytes = 1 << 20

// maxCodeInfoBytes caps the JSON document inside license_code_info (published
// maximum: 1024 characters; the margin allows for escaping).
const maxCodeInfoBytes = 8 << 10

// maxIDBytes caps product and order ids; they are shown to users and stored.
const maxIDBytes = 128

var (
	errTooLarge   = fmt.Errorf("answer larger than %d bytes", MaxResponseBytes)
	errNoCodeInfo = errors.New("activation answer without license_code_info")
)

// readCapped reads at most limit bytes from r; one byte more is errTooLarge.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

// envelope is the common shape of every answer (wire.Envelope, with
// tolerant field types and the data kept raw until the call knows its shape).
type envelope struct {
	ErrorCode flexString      `json:"error_code"`
	ErrorMsg  flexString      `json:"error_msg"`
	Data      json.RawMessage `json:"data"`
}

func decodeEnvelope(body []byte) (envelope, error) {
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return envelope{}, fmt.Errorf("malformed answer: %v", err)
	}
	return e, nil
}

// codeInfo is the document inside license_code_info (wire.LicenseCodeInfo).
type codeInfo struct {
	Status     flexString `json:"status"`
	ExpireTime flexString `json:"expire_time"`
	ProductID  flexString `json:"product_id"`
	OrderID    flexString `json:"order_id"`
	Amount     flexNumber `json:"amount"`
}

// queryData is the data of a query answer (wire.QueryData).
type queryData struct {
	LicenseCode  flexString `json:"license_code"`
	Status       flexString `json:"status"`
	ActivateTime flexString `json:"activate_time"`
	ExpireTime   flexString `json:"expire_time"`
	ProductID    flexString `json:"product_id"`
	OrderID      flexString `json:"order_id"`
	Amount       flexNumber `json:"amount"`
}

// parseActivateData turns the data of a successful activation into a License
// for code. It returns errNoCodeInfo when the answer carries no document, so
// that the caller can ask the query call instead.
func parseActivateData(code string, raw json.RawMessage) (licensing.License, error) {
	var d struct {
		LicenseCodeInfo json.RawMessage `json:"license_code_info"`
	}
	if err := unmarshalData(raw, &d); err != nil {
		return licensing.License{}, err
	}
	doc, err := codeInfoDocument(d.LicenseCodeInfo)
	if err != nil {
		return licensing.License{}, err
	}
	var info codeInfo
	if err := json.Unmarshal(doc, &info); err != nil {
		return licensing.License{}, fmt.Errorf("license_code_info: %v", err)
	}
	lic := licensing.License{Code: code, Amount: float64(info.Amount)}
	return lic, fillLicense(&lic, info.Status, info.ExpireTime, "", info.ProductID, info.OrderID)
}

// parseQueryData turns the data of a successful query into a License for
// code. The answer must be about code.
func parseQueryData(code string, raw json.RawMessage) (licensing.License, error) {
	var d queryData
	if err := unmarshalData(raw, &d); err != nil {
		return licensing.License{}, err
	}
	if got := strings.TrimSpace(string(d.LicenseCode)); got != "" && !strings.EqualFold(got, code) {
		return licensing.License{}, fmt.Errorf("answer is about another license code %s", quote(got))
	}
	lic := licensing.License{Code: code, Amount: float64(d.Amount)}
	return lic, fillLicense(&lic, d.Status, d.ExpireTime, d.ActivateTime, d.ProductID, d.OrderID)
}

// fillLicense checks and copies the fields both answers share.
func fillLicense(lic *licensing.License, status, expire, activate, product, order flexString) error {
	var err error
	if lic.Status, err = parseStatus(string(status)); err != nil {
		return err
	}
	if lic.ExpireTime, err = ParseTime(string(expire)); err != nil {
		return fmt.Errorf("expire_time: %w", err)
	}
	if lic.ActivateTime, err = ParseTime(string(activate)); err != nil {
		return fmt.Errorf("activate_time: %w", err)
	}
	if lic.ProductID, err = parseID("product_id", string(product)); err != nil {
		return err
	}
	lic.OrderID, err = parseID("order_id", string(order))
	return err
}

// unmarshalData decodes the data member of an answer; a missing or null data
// leaves v empty, which the callers then reject field by field.
func unmarshalData(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("data: %v", err)
	}
	return nil
}

// codeInfoDocument extracts the JSON document of license_code_info. The
// marketplace sends it as a string holding JSON; an object is accepted too,
// because a mirror that "fixes" the double encoding should not break us.
func codeInfoDocument(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errNoCodeInfo
	}
	if len(raw) > 2*maxCodeInfoBytes {
		return nil, fmt.Errorf("license_code_info longer than %d bytes", maxCodeInfoBytes)
	}
	doc := []byte(raw)
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("license_code_info: %v", err)
		}
		doc = []byte(strings.TrimSpace(s))
	}
	switch {
	case len(doc) == 0:
		return nil, errNoCodeInfo
	case len(doc) > maxCodeInfoBytes:
		return nil, fmt.Errorf("license_code_info longer than %d bytes", maxCodeInfoBytes)
	case doc[0] != '{':
		return nil, errors.New("license_code_info is not a JSON object")
	}
	return doc, nil
}

// usageFailure reports whether the data of a successful usage answer lists
// failed entries. Its field names are unspecified: any non-empty list in data
// (or data being one) counts, since the answer lists only failures and we send
// one entry. code is the error_code of the first listed entry, if it has one.
func usageFailure(raw json.RawMessage) (failed bool, code string) {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		return len(list) > 0, entryCode(list)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return false, ""
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) { // the same answer always gives the same code
		if json.Unmarshal(obj[k], &list) == nil && len(list) > 0 {
			return true, entryCode(list)
		}
	}
	return false, ""
}

func entryCode(list []json.RawMessage) string {
	var e struct {
		ErrorCode flexString `json:"error_code"`
	}
	if len(list) == 0 || json.Unmarshal(list[0], &e) != nil {
		return ""
	}
	return strings.TrimSpace(string(e.ErrorCode))
}

func parseStatus(s string) (licensing.Status, error) {
	switch st := licensing.Status(strings.TrimSpace(s)); st {
	case licensing.StatusAlive, licensing.StatusExpired, licensing.StatusReleased:
		return st, nil
	case "":
		return "", errors.New("no license status")
	default:
		return "", fmt.Errorf("unknown license status %s", quote(string(st)))
	}
}

// ParseTime reads a marketplace time: UTC yyyyMMddHHmmss (TimeLayout) as
// published, or RFC 3339 (the query's expiry format is unspecified). The
// result is in UTC; an empty string is the zero time ("unknown").
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) == len(wire.TimeLayout) && isDigits(s) {
		t, err := time.ParseInLocation(wire.TimeLayout, s, time.UTC)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad time %s", quote(s))
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %s: want yyyyMMddHHmmss or RFC 3339", quote(s))
	}
	return t.UTC(), nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseID accepts a product or order id as sent, refusing what could not be
// an id: ids are displayed and stored, so they must be short printable text.
func parseID(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxIDBytes {
		return "", fmt.Errorf("%s longer than %d bytes", field, maxIDBytes)
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, isControl) >= 0 {
		return "", fmt.Errorf("%s %s is not printable text", field, quote(s))
	}
	return s, nil
}

// isControl reports control and invisible formatting characters (including
// bidirectional overrides), which must not reach a terminal or a window.
func isControl(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }

// quote shows a value from an answer inside an error message: short and
// escaped.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return strconv.Quote(s)
}

// flexString decodes a JSON string, or a JSON number as its literal text
// (ids and times are sometimes sent as numbers); null is "".
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case len(b) > 0 && (b[0] == '-' || '0' <= b[0] && b[0] <= '9'):
		*f = flexString(b) // encoding/json has already checked the literal
	default:
		return fmt.Errorf("want a string or a number, got %s", quote(string(b)))
	}
	return nil
}

// flexNumber decodes a JSON number or a numeric string ("2"); null and "" are
// 0. Negative, infinite and NaN amounts are refused.
type flexNumber float64

func (f *flexNumber) UnmarshalJSON(b []byte) error {
	s := string(b)
	switch {
	case s == "null":
		*f = 0
		return nil
	case len(b) > 0 && b[0] == '"':
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s = strings.TrimSpace(s); s == "" {
			*f = 0
			return nil
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return fmt.Errorf("amount %s is not a count", quote(s))
	}
	*f = flexNumber(v)
	return nil
}
