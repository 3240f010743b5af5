// Package server is the domain of the vendor license server
// (cmd/iscdesk-server): license codes as the marketplace reports them, the
// seat policy of each product, activations bound to a device (its
// fingerprint and its Ed25519 key), and the use cases the desktop-facing API
// and the support CLI call: activate, check, deactivate, device license,
// revoke, the daily usage report.
//
// It knows nothing of HTTP or SQL. What it needs from the outside are small
// interfaces declared here: Store (with a per-code lock that serialises seat
// changes across processes sharing a database), Marketplace (the upstream
// license API, licensing/marketplace's client in production), Signer (the
// vendor key, package server/keys) and a clock. The adapters live in
// sub-packages: server/store/sqlstore (SQLite and PostgreSQL),
// server/httpapi (the /v1 JSON API), server/keys (vendor signing keys).
//
// It must not import the desktop's keyring, fyne, the agent, or its own
// adapters (internal/layers checks this).
package server
