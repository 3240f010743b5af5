package callback

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Activities: the events, as the body's "activity" field names them.
const (
	ActivityRefresh = "refreshLicenseCode"
	ActivityRelease = "releaseLicenseCode"
	ActivityLicense = "getLicenseAsync"
)

// Scenes of a refresh.
const (
	SceneRenewal     = "RENEWAL"
	SceneUnsubscribe = "UNSUBSCRIBE_RENEWAL_PERIOD"
)

// Event is the body of a callback: the union of the three events' fields
// (an event leaves the others empty).
type Event struct {
	Activity string `json:"activity,omitempty"`

	// refreshLicenseCode and releaseLicenseCode.
	Scene       string `json:"scene,omitempty"`
	OrderID     string `json:"orderId,omitempty"`
	OrderLineID string `json:"orderLineId,omitempty"`
	License     string `json:"license,omitempty"`
	ProductID   string `json:"productId,omitempty"`

	// getLicenseAsync.
	InstanceID        string `json:"instanceId,omitempty"`
	EventID           string `json:"eventId,omitempty"`
	EffectiveTime     string `json:"effectiveTime,omitempty"`
	DeviceFingerprint string `json:"deviceFingerprint,omitempty"`

	// refreshLicenseCode (yyyyMMddHHmmss) and getLicenseAsync (see
	// ParseTime).
	ExpireTime string `json:"expireTime,omitempty"`
	TestFlag   string `json:"testFlag,omitempty"`
}

// Field caps (the published maxima; the fingerprint's is 1024 here).
const (
	MaxID          = 64
	MaxTime        = 32
	MaxFingerprint = 1024
	MaxLicense     = 256
)

// ErrInvalid is wrapped by every error of Parse: answer ResultInvalidParam.
var ErrInvalid = errors.New("invalid callback body")

// Parse reads a callback body strictly: one JSON object, no unknown field,
// no trailing data, the fields the activity requires present and within
// their caps. activity names the event when the URL does (one URL per
// event); "" takes it from the body. A body naming another activity than
// the URL is refused.
func Parse(body []byte, activity string) (Event, error) {
	var e Event
	if len(body) > MaxBody {
		return e, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Event{}, fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	switch {
	case activity == "":
	case e.Activity == "":
		e.Activity = activity
	case e.Activity != activity:
		return Event{}, fmt.Errorf("%w: activity %q sent to the URL of %q", ErrInvalid, e.Activity, activity)
	}
	return e, e.validate()
}

func (e Event) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
	}
	need := func(name, v string, max int) error {
		if strings.TrimSpace(v) == "" {
			return bad("%s is required", name)
		}
		if len(v) > max {
			return bad("%s longer than %d bytes", name, max)
		}
		return nil
	}
	limit := func(name, v string, max int) error {
		if len(v) > max {
			return bad("%s longer than %d bytes", name, max)
		}
		return nil
	}
	if err := limit("testFlag", e.TestFlag, 2); err != nil {
		return err
	}
	switch e.Activity {
	case ActivityRefresh:
		if e.Scene != SceneRenewal && e.Scene != SceneUnsubscribe {
			return bad("scene %q is neither %s nor %s", e.Scene, SceneRenewal, SceneUnsubscribe)
		}
		for _, f := range []struct {
			name, v string
			max     int
		}{{"license", e.License, MaxLicense}, {"expireTime", e.ExpireTime, MaxTime}} {
			if err := need(f.name, f.v, f.max); err != nil {
				return err
			}
		}
		if _, err := ParseExpireTime(e.ExpireTime); err != nil {
			return bad("%v", err)
		}
		for _, f := range []struct{ name, v string }{{"orderId", e.OrderID}, {"orderLineId", e.OrderLineID}, {"productId", e.ProductID}} {
			if err := limit(f.name, f.v, MaxID); err != nil {
				return err
			}
		}
	case ActivityRelease:
		if err := need("license", e.License, MaxLicense); err != nil {
			return err
		}
		for _, f := range []struct{ name, v string }{{"orderId", e.OrderID}, {"orderLineId", e.OrderLineID}} {
			if err := limit(f.name, f.v, MaxID); err != nil {
				return err
			}
		}
	case ActivityLicense:
		for _, f := range []struct {
			name, v string
			max     int
		}{{"instanceId", e.InstanceID, MaxID}, {"eventId", e.EventID, MaxID}, {"effectiveTime", e.EffectiveTime, MaxTime}} {
			if err := need(f.name, f.v, f.max); err != nil {
				return err
			}
		}
		if err := limit("expireTime", e.ExpireTime, MaxTime); err != nil {
			return err
		}
		if err := limit("deviceFingerprint", e.DeviceFingerprint, MaxFingerprint); err != nil {
			return err
		}
		if _, err := ParseTime(e.EffectiveTime); err != nil {
			return bad("effectiveTime: %v", err)
		}
		if e.ExpireTime != "" {
			if _, err := ParseTime(e.ExpireTime); err != nil {
				return bad("expireTime: %v", err)
			}
		}
	case "":
		return bad("activity is required (or a URL per event)")
	default:
		return bad("unknown activity %q", e.Activity)
	}
	return nil
}

// ExpireLayout is refreshLicenseCode's expireTime layout (UTC).
const ExpireLayout = "20060102150405"

// ParseExpireTime reads a refreshLicenseCode expireTime (yyyyMMddHHmmss,
// UTC).
func ParseExpireTime(s string) (time.Time, error) {
	t, err := time.ParseInLocation(ExpireLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("expireTime %q: want yyyyMMddHHmmss (UTC)", s)
	}
	return t, nil
}

// asyncLayouts are the getLicenseAsync time forms accepted: the published
// example "2023-10-27 10:30:15 z" (UTC, any case of z), the same without the
// zone, RFC 3339, and yyyyMMddHHmmss.
var asyncLayouts = []string{"2006-01-02 15:04:05", time.RFC3339, ExpireLayout}

// AsyncTimeLayout is how the sandbox writes getLicenseAsync times.
const AsyncTimeLayout = "2006-01-02 15:04:05 z"

// ParseTime reads a getLicenseAsync effectiveTime or expireTime.
func ParseTime(s string) (time.Time, error) {
	v := strings.TrimSpace(s)
	if l := len(v); l > 2 && (v[l-1] == 'z' || v[l-1] == 'Z') && v[l-2] == ' ' {
		v = v[:l-2]
	}
	for _, layout := range asyncLayouts {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want \"yyyy-MM-dd HH:mm:ss z\" (UTC)", s)
}

// FormatTime writes t as getLicenseAsync times are written.
func FormatTime(t time.Time) string { return t.UTC().Format(AsyncTimeLayout) }
