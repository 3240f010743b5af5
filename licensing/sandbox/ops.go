package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// Limits of the published field tables.
const (
	maxEffectTimeLen = 16
	maxUsageList     = 100
	maxUsageIDLen    = 256
)

// refusal is a license API answer other than success, sent with HTTP 200.
type refusal struct{ code, msg string }

func (r *refusal) Error() string { return r.code + " " + r.msg }

func refusalOf(code, msg string) *refusal { return &refusal{code: code, msg: msg} }

var (
	errNotExist     = refusalOf(wire.CodeNotExist, "license code does not exist")
	errNotActivated = refusalOf(wire.CodeNotActivated, "license code not activated")
)

// badRequest answers a request that breaks the published field table.
func badRequest(err error) answer {
	return refuse(http.StatusBadRequest, wire.CodeRequestInvalid, "request parameter invalid: "+err.Error())
}

// failed answers the error of an operation: a refusal as itself, anything
// else (the state file could not be saved) as a transient internal error.
func (s *Server) failed(err error) answer {
	var r *refusal
	if errors.As(err, &r) {
		return refuse(http.StatusOK, r.code, r.msg)
	}
	s.log.Error("sandbox internal error", "err", err)
	return refuse(http.StatusOK, wire.CodeInternal, "internal error")
}

func (a answer) about(license string) answer {
	a.license = license
	return a
}

func (s *Server) activate(o object, now time.Time) answer {
	code, err := o.requiredString("license", licensing.MaxCodeLen)
	if err != nil {
		return badRequest(err)
	}
	effect, err := o.optionalString("real_effect_time", maxEffectTimeLen)
	if err != nil {
		return badRequest(err).about(code)
	}
	now = now.UTC().Truncate(time.Second)
	start, ok := effectiveStart(effect, now)
	if !ok {
		return refuse(http.StatusOK, wire.CodeInvalidParameter,
			"real_effect_time must be UTC yyyyMMddHHmmss and not in the future").about(code)
	}
	var rec codeRecord
	err = s.update(func(st *state) error {
		i := st.find(code)
		if i < 0 {
			return errNotExist
		}
		c := &st.Codes[i]
		if err := activatable(c); err != nil {
			return err
		}
		c.ActivatedAt = now
		c.ExpireTime = start.Add(c.term())
		rec = *c
		return nil
	})
	if err != nil {
		return s.failed(err).about(code)
	}
	// The marketplace sends this document as a string inside the JSON
	// answer; clients must decode twice, so the sandbox makes them.
	info, err := json.Marshal(wire.LicenseCodeInfo{
		Status:     string(rec.effectiveStatus(now)),
		ExpireTime: formatTime(rec.ExpireTime),
		ProductID:  rec.ProductID,
		OrderID:    rec.OrderID,
		Amount:     rec.Amount,
	})
	if err != nil {
		return s.failed(err).about(code)
	}
	return success(wire.ActivateData{LicenseCodeInfo: string(info)}).about(code)
}

// effectiveStart is when the term of an activation starts: the declared
// delivery time when given, else now. A delivery time may be ahead of the
// server clock by the skew the signature check tolerates, no more.
func effectiveStart(effect string, now time.Time) (time.Time, bool) {
	if effect == "" {
		return now, true
	}
	t, err := time.Parse(wire.TimeLayout, effect)
	if err != nil || t.After(now.Add(aksk.MaxSkew)) {
		return time.Time{}, false
	}
	return t, true
}

// activatable refuses codes that are not waiting for their activation.
func activatable(c *codeRecord) error {
	switch {
	case !c.Delivered:
		return refusalOf(wire.CodeNotDelivered, "the user has not received the license yet")
	case c.activated():
		return refusalOf(wire.CodeIllegalState, "illegal state: license code already activated")
	case c.Status != licensing.StatusAlive:
		return refusalOf(wire.CodeIllegalState, "illegal state: license code is "+string(c.Status))
	}
	return nil
}

func (s *Server) query(o object, now time.Time) answer {
	code, err := o.requiredString("license", licensing.MaxCodeLen)
	if err != nil {
		return badRequest(err)
	}
	rec, refused, ok := s.activatedCode(code)
	if !ok {
		return refused
	}
	return success(wire.QueryData{
		LicenseCode:  rec.Code,
		Status:       string(rec.effectiveStatus(now)),
		ActivateTime: formatTime(rec.ActivatedAt),
		ExpireTime:   formatTime(rec.ExpireTime),
		ProductID:    rec.ProductID,
		OrderID:      rec.OrderID,
	}).about(code)
}

// usageData is the data of a usage answer. The public spec leaves its field
// names open; this shape is the sandbox's choice.
type usageData struct {
	Failed []usageFailure `json:"failed"`
}

type usageFailure struct {
	License   string `json:"license"`
	ErrorCode string `json:"error_code"`
	Reason    string `json:"reason"`
}

func (s *Server) usage(o object, now time.Time) answer {
	entries, err := parseUsage(o)
	if err != nil {
		return badRequest(err)
	}
	data := usageData{Failed: []usageFailure{}}
	err = s.update(func(st *state) error {
		reports := make([]UsageReport, len(entries))
		for i, e := range entries {
			reports[i] = UsageReport{Received: now.UTC(), License: e.License, Items: e.SoftwareUsageInfo}
			if r := usageRefusal(st, e.License, now); r != nil {
				reports[i].ErrorCode, reports[i].Reason = r.code, r.msg
				data.Failed = append(data.Failed, usageFailure{License: e.License, ErrorCode: r.code, Reason: r.msg})
			}
		}
		st.addUsage(reports...)
		return nil
	})
	if err != nil {
		return s.failed(err)
	}
	a := success(data)
	a.entries = len(entries)
	if len(entries) == 1 {
		a.license = entries[0].License
	}
	return a
}

// usageRefusal says why usage cannot be counted for code, or nil.
func usageRefusal(st *state, code string, now time.Time) *refusal {
	i := st.find(code)
	if i < 0 {
		return errNotExist
	}
	c := &st.Codes[i]
	if !c.activated() {
		return errNotActivated
	}
	if status := c.effectiveStatus(now); status != licensing.StatusAlive {
		return refusalOf(wire.CodeIllegalState, "license code is "+string(status))
	}
	return nil
}

// parseUsage checks a usage report against the published table: 1 to 100
// entries, each naming a code and 1 to 100 items holding exactly one of id
// and active_num.
func parseUsage(o object) ([]wire.UsageEntry, error) {
	raws, err := o.list("usage_info", maxUsageList)
	if err != nil {
		return nil, err
	}
	entries := make([]wire.UsageEntry, len(raws))
	for i, raw := range raws {
		if entries[i], err = parseUsageEntry(raw); err != nil {
			return nil, fmt.Errorf("usage_info[%d]: %w", i, err)
		}
	}
	return entries, nil
}

func parseUsageEntry(raw json.RawMessage) (wire.UsageEntry, error) {
	var e wire.UsageEntry
	o, err := decodeObject(raw)
	if err != nil {
		return e, err
	}
	if e.License, err = o.requiredString("license", licensing.MaxCodeLen); err != nil {
		return e, err
	}
	// The capital I is the published spelling; the exact-key lookup makes a
	// client that sends software_usage_info fail here as it would for real.
	items, err := o.list("software_usage_Info", maxUsageList)
	if err != nil {
		return e, err
	}
	e.SoftwareUsageInfo = make([]wire.UsageItem, len(items))
	for j, raw := range items {
		if e.SoftwareUsageInfo[j], err = parseUsageItem(raw); err != nil {
			return e, fmt.Errorf("software_usage_Info[%d]: %w", j, err)
		}
	}
	return e, nil
}

func parseUsageItem(raw json.RawMessage) (wire.UsageItem, error) {
	var item wire.UsageItem
	o, err := decodeObject(raw)
	if err != nil {
		return item, err
	}
	if item.ID, err = o.optionalString("id", maxUsageIDLen); err != nil {
		return item, err
	}
	if item.ActiveNum, err = o.optionalCount("active_num"); err != nil {
		return item, err
	}
	if (item.ID == "") == (item.ActiveNum == nil) {
		return item, errors.New("exactly one of id and active_num is required")
	}
	return item, nil
}

// activatedCode returns the record of an activated code, or the answer that
// refuses the request: an unknown code, or one never activated.
func (s *Server) activatedCode(code string) (codeRecord, answer, bool) {
	var (
		rec   codeRecord
		found bool
	)
	s.view(func(st *state) {
		if i := st.find(code); i >= 0 {
			rec, found = st.Codes[i], true
		}
	})
	switch {
	case !found:
		return rec, s.failed(errNotExist).about(code), false
	case !rec.activated():
		return rec, s.failed(errNotActivated).about(code), false
	}
	return rec, answer{}, true
}
