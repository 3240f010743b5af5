package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/licensing"
)

// licenseJSON is the object `activate --json` and `status --json` print
// (docs/cli.md).
type licenseJSON struct {
	License            string   `json:"license"`
	Status             string   `json:"status"`
	Valid              bool     `json:"valid"`
	Reason             string   `json:"reason"`
	ExpireTime         string   `json:"expire_time"`
	ProductID          string   `json:"product_id"`
	OrderID            string   `json:"order_id"`
	ActivatedAt        string   `json:"activated_at"`
	LastCheckedAt      string   `json:"last_checked_at"`
	Source             string   `json:"source"`
	Storage            string   `json:"storage"`
	FingerprintChanged []string `json:"fingerprint_changed"`
}

// stateJSON renders a state and the error of the command (err wins over the
// verdict for valid/reason).
func stateJSON(st licensing.State, code string, err error) licenseJSON {
	r := st.Record
	if r.License == "" {
		r.License = code
	}
	j := licenseJSON{
		License: r.License, Status: string(r.Status), ExpireTime: formatTime(r.ExpireTime),
		ProductID: r.ProductID, OrderID: r.OrderID, ActivatedAt: formatTime(r.ActivatedAt),
		LastCheckedAt: formatTime(r.LastCheckedAt), Source: string(st.Source), Storage: st.Storage,
		FingerprintChanged: st.Verdict.Changed,
	}
	if j.FingerprintChanged == nil {
		j.FingerprintChanged = []string{}
	}
	switch {
	case err != nil:
		j.Reason = reasonOf(err)
	case !st.Verdict.Valid():
		j.Reason = st.Verdict.Reason()
	default:
		j.Valid = true
	}
	return j
}

// reasonOf is the human sentence of an error: the innermost message of a
// licensing error, which says what happened and what to do, with any URL
// in it redacted.
func reasonOf(err error) string {
	if le, ok := err.(*errs.Error); ok && le.Err != nil {
		return netutil.RedactText(le.Err.Error())
	}
	return netutil.RedactText(err.Error())
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printState prints a state for people.
func printState(w io.Writer, st licensing.State, now time.Time) {
	r := st.Record
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	state := "valid"
	if !st.Verdict.Valid() {
		state = "NOT VALID: " + st.Verdict.Reason()
	}
	line("License", r.License)
	line("State", state)
	line("Status", string(r.Status))
	if !r.ExpireTime.IsZero() {
		days := int(math.Ceil(r.ExpireTime.Sub(now).Hours() / 24))
		line("Expires", fmt.Sprintf("%s (%s)", r.ExpireTime.Local().Format("2006-01-02 15:04 MST"), plural(max(days, 0), "day")+" left"))
	}
	line("Product", r.ProductID)
	line("Order", r.OrderID)
	if !r.ActivatedAt.IsZero() {
		line("Activated", r.ActivatedAt.Local().Format("2006-01-02 15:04 MST"))
	}
	if !r.LastCheckedAt.IsZero() {
		line("Last online check", r.LastCheckedAt.Local().Format("2006-01-02 15:04 MST"))
	}
	line("License server", netutil.RedactString(r.Server))
	if st.Verdict.Valid() && st.Source == licensing.SourceCache {
		line("Offline grace left", plural(int(st.Verdict.GraceLeft.Hours()/24), "day"))
	}
	src := string(st.Source)
	if st.OnlineErr != nil {
		src += " (license server unreachable: " + reasonOf(st.OnlineErr) + ")"
	}
	line("Source", src)
	line("Storage", st.Storage)
	if len(st.Verdict.Changed) > 0 {
		line("Hardware changed", strings.Join(st.Verdict.Changed, ", "))
	}
	tw.Flush()
}

func plural(n int, unit string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", unit)
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
