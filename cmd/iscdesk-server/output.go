package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/token/activation"
)

// activationJSON is an activation in --json output.
type activationJSON struct {
	ID          string `json:"id"`
	CodeHash    string `json:"code_hash"`
	State       string `json:"state"`
	Host        string `json:"host"`
	App         string `json:"app"`
	Version     string `json:"version"`
	Fingerprint string `json:"fingerprint"`
	DeviceKey   string `json:"device_key_thumbprint"`
	RequestID   string `json:"request_id"`
	CreatedAt   string `json:"created_at"`
	LastCheckAt string `json:"last_check_at"`
	EndedAt     string `json:"ended_at"`
	Note        string `json:"note,omitempty"`
}

func activationOut(a server.Activation) activationJSON {
	return activationJSON{
		ID: a.ID, CodeHash: a.CodeHash, State: string(a.State), Host: a.Host, App: a.App, Version: a.Version,
		Fingerprint: a.Fingerprint, DeviceKey: activation.Thumbprint(a.DeviceKey), RequestID: a.RequestID,
		CreatedAt: rfc(a.CreatedAt), LastCheckAt: rfc(a.LastCheckAt), EndedAt: rfc(a.EndedAt), Note: a.EndNote,
	}
}

// codeJSON is a code in --json output.
type codeJSON struct {
	Code        string           `json:"code"`
	Hash        string           `json:"hash"`
	Status      string           `json:"status"`
	ProductID   string           `json:"product_id"`
	OrderID     string           `json:"order_id"`
	Amount      float64          `json:"amount"`
	Seats       int              `json:"seats"`
	Bound       int              `json:"bound"`
	ExpireTime  string           `json:"expire_time"`
	QueriedAt   string           `json:"queried_at"`
	Activations []activationJSON `json:"activations,omitempty"`
	// Floating codes: the pool's leases held now (output_leases.go).
	Floating bool        `json:"floating,omitempty"`
	Leases   []leaseJSON `json:"leases,omitempty"`
}

func codeOut(v server.CodeView, withActivations bool) codeJSON {
	c := codeJSON{
		Code: v.Code.Code, Hash: v.Code.Hash, Status: string(v.Code.Status), ProductID: v.Code.ProductID,
		OrderID: v.Code.OrderID, Amount: v.Code.Amount, Seats: v.Seats, Bound: v.Bound(),
		ExpireTime: rfc(v.Code.ExpireTime), QueriedAt: rfc(v.Code.QueriedAt),
	}
	if withActivations {
		c.Activations = []activationJSON{}
		for _, a := range v.Activations {
			c.Activations = append(c.Activations, activationOut(a))
		}
		c.Floating, c.Leases = v.Floating, leasesOut(v.Leases)
	}
	return c
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printActivations(w io.Writer, list []server.Activation) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tHOST\tCREATED\tLAST CHECK\tCODE")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.State, a.Host, day(a.CreatedAt), day(a.LastCheckAt), a.CodeHash[:12]+"…")
	}
	return tw.Flush()
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}
