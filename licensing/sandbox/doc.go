// Package sandbox is a local stand-in for the marketplace license API: a
// loopback HTTP server that answers the activate, query and usage calls the
// way the marketplace does (same paths, AK/SK signature check, result codes,
// answer shapes), with its own credentials and demo license codes kept in a
// JSON state file. `iscdesk sandbox`, `make demo` and the tests of other
// packages talk to it instead of the real service, so nothing needs the
// vendor's real keys or the network.
//
// It also serves iscdesk's extension of that protocol (paths under
// /api/iscdesk/v1/): device licenses signed with a stand-in vendor key it
// keeps in its state, that key's public half, and an update manifest signed
// with that key, with its package, which the desktop agent needs and the
// marketplace lacks.
//
// It plays the marketplace's side of callbacks too: it signs and sends
// refreshLicenseCode, releaseLicenseCode and getLicenseAsync to the
// vendor's URL (licensing/marketplace/callback is the wire format), queued in
// its state file and retried as the marketplace does, on demand and on its
// own schedule (renewals at term end, scheduled releases), and it accepts
// the vendor's uploads of asynchronous licenses. A running sandbox takes
// admin calls on loopback, authorized by a token in its state file.
//
// The choices the sandbox makes where the public spec is silent (which
// result code a malformed request gets, the shape of the usage answer, the
// demo codes) are listed in README.md, next to this file.
//
// It depends on licensing, licensing/aksk, licensing/marketplace/wire (the
// shapes on the wire, which the client uses too) and token (the signer),
// never on sdk or on the marketplace client: the client is tested against
// the sandbox, so the sandbox must not borrow its logic. Package
// internal/layers checks this.
package sandbox
