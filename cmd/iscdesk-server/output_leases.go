package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/iscdesk/iscdesk/server"
)

// leaseJSON is a lease held, in `codes show --json`: never its secret.
type leaseJSON struct {
	ID            string `json:"id"`
	ActivationID  string `json:"activation_id"`
	Host          string `json:"host"`
	App           string `json:"app,omitempty"`
	Since         string `json:"since"`
	LastHeartbeat string `json:"last_heartbeat"`
	Ends          string `json:"ends"`
	BorrowedUntil string `json:"borrowed_until,omitempty"`
}

func leasesOut(list []server.Lease) []leaseJSON {
	var out []leaseJSON
	for _, l := range list {
		out = append(out, leaseJSON{ID: l.ID, ActivationID: l.ActivationID, Host: l.Host, App: l.App, Since: rfc(l.CreatedAt),
			LastHeartbeat: rfc(l.RenewedAt), Ends: rfc(l.EndsAt), BorrowedUntil: rfc(l.BorrowedUntil)})
	}
	return out
}

// printLeases prints a floating code's leases held now, the earliest end
// first.
func printLeases(w io.Writer, list []server.Lease) error {
	fmt.Fprintf(w, "\nleases held: %d\n", len(list))
	if len(list) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEASE\tHOST\tAPP\tSINCE\tLAST HEARTBEAT\tENDS")
	for _, l := range list {
		ends := rfc(l.EndsAt)
		if l.Borrowed() {
			ends += " (borrowed)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.Host, l.App, rfc(l.CreatedAt), rfc(l.RenewedAt), ends)
	}
	return tw.Flush()
}
