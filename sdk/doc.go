// Package sdk is what industrial software (CAD, CAE, simulation) links to talk
// to the iscdesk desktop client over a user-private local channel: connect,
// ask for a device license, save files and assemblies to the cloud, open cloud
// files, solve models, check for upgrades, and receive the answers as events
// in the published JSON shape. It also verifies device licenses offline.
//
// It is compiled into vendors' products, so it stays small and pure Go: it
// imports the standard library, the pure packages protocol, token,
// fingerprint/devinfo and fingerprint/osid, the socket checks of
// protocol/usersock and, for them, golang.org/x/sys only, never the GUI toolkit, the hardware probes
// (fingerprint, gopsutil), the keyring or the licensing internals. A test
// enforces this.
//
// # Packages and names
//
// A program uses up to three packages, and each name lives in one of them:
//
//   - sdk: the client (Connect and its options, the calls, their outcomes
//     and errors) and VerifyDeviceLicense;
//   - protocol: what travels between the program and the desktop client:
//     the Event type that the callback, the channel and the outcomes carry,
//     event names (protocol.EventSaveResult), param keys
//     (protocol.ReasonKey), status values (protocol.StatusFailed), and where
//     the agent listens (protocol.SocketPath, protocol.SocketEnv);
//   - token: the device-license token and the vendor's key
//     (token.ParsePublicKey; issuers sign with token.Sign).
//
// This package does not repeat protocol's names. It keeps two of token's
// under the names its verify API has always used: DeviceLicense is
// token.Claims, and ErrLicenseMalformed, ErrLicenseSignature,
// ErrLicenseExpired and ErrLicenseNotYetValid are token's errors (the same
// values).
//
// A program that collects devInfo itself, as the published rule has it,
// imports sdk/fingerprint (the probes of `iscdesk fingerprint`), which
// stays out of this package. C, C++ and Python programs use this package
// as a C library: sdk/c.
//
// # The published call set
//
// The calls mirror the published ISCDesk C++ SDK. Each call that the desktop
// client answers with events comes in two forms: XxxRequest returns the
// request id as soon as the agent accepted the call, and the events arrive
// later through the callback and the channel (the published, asynchronous
// style); the bare verb waits for the call's final event and returns its
// content, or an error when the event reports status "failed" (the Go style).
//
//	C++ SDK                             Go, asynchronous                 Go, waiting for the final event
//	Init()                              Connect(ctx, opts...)
//	RegisterEventRecall(cb)             RegisterEventRecall(fn), Events()
//	GetLicenseStringRequest(devInfo)    GetLicenseStringRequest          GetLicenseString → token (LicenseVerify)
//	GetLicenseFileRequest(name, dev)    GetLicenseFileRequest            GetLicenseFile → path (LicenseVerify)
//	LicenseVerifyNotify(ok, errMsg)     LicenseVerifyNotify (no event)
//	CheckNewVersions()                  CheckNewVersionsRequest          CheckNewVersions → VersionCheck (UpgradeNotice)
//	UpgradeNotify(upgrade)              UpgradeNotify (Update event)
//	OpenCloudFile()                     OpenCloudFileRequest             OpenCloudFile → OpenFile (OpenFile)
//	Save(path) / Save(path, true)       SaveRequest(ctx, path, asm)      Save → SaveOutcome (SaveResult)
//	GetSolution(path)                   GetSolutionRequest               GetSolution → SolutionOutcome (SolutionResult)
//	select save-as path                 SelectSaveAsPathRequest          SelectSaveAsPath → SaveAsPath (SaveAsPath)
//	ShutOut()                           Close()
//
// The published comeBackParams are passed with the ComeBackParams call
// option. Every event carries the request id it answers in
// comeBackParams[protocol.RequestIDKey] (protocol.Event.RequestID); all events,
// including the final events that the waiting helpers return, are also
// delivered to the callback and the channel, so a program may use either
// style or both.
//
// # Connection
//
// The transport is a Unix-domain socket private to the user
// (protocol.SocketPath; on Windows an AF_UNIX socket too). Before it sends
// anything on a connection, the client checks that the socket is the
// user's: its folder belongs to the user and nobody else may enter it, and
// (Linux, macOS) the process listening runs as the user. Otherwise another
// user could pose as the desktop client; Connect then fails with
// ErrNotPrivate. The client reconnects by itself when the desktop client restarts: calls in flight
// when the connection drops fail with an error wrapping ErrDisconnected, and
// later calls succeed once the agent is back. Package protocol is the wire
// protocol; docs/protocol.md describes it for programs in other languages.
//
// # Device licenses
//
// GetLicenseString returns a device license: a compact JWS signed with the
// vendor's Ed25519 key, bound to the devInfo fingerprint. The program checks
// it offline with VerifyDeviceLicense and the vendor's public key (read from
// its base64 form with token.ParsePublicKey), then reports the verdict with
// LicenseVerifyNotify.
//
// # Floating licenses
//
// For a product sold as floating the agent lends the connection a lease of
// the license's pool at its first license request, renews it while the
// program stays connected and returns it when the connection closes; the
// device license ends with the lease (the LicenseVerify event's
// protocol.LeaseEndsKey), so a program that checks its license later asks
// again. A full pool fails the request naming the holders
// (protocol.HoldersKey, protocol.EarliestEndKey); with the QueueForLease call
// option the agent sends a LicenseQueued event instead and the license when
// a lease frees (docs/protocol.md, Floating licenses).
package sdk
