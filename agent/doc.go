// Package agent is the desktop side of the SDK: it serves the local socket
// that vendors' programs connect to through package sdk, answers their calls
// at once and reports outcomes as events, keeps the activity log the window
// shows, and does the work through small hooks (hooks.go), each with a
// working default in a package of its own:
//
//   - Storage (Save, OpenCloudFile): agent/clouddrive, a local folder acting
//     as the user's cloud drive;
//   - Solver (GetSolution): agent/solver, an administrator-configured command;
//   - LicenseSource (GetLicenseString, GetLicenseFile): ManagedLicenses here,
//     device licenses for the activated license code, for this machine's
//     fingerprint only;
//   - UpdateChecker (CheckNewVersions, UpgradeNotify): agent/updates, an
//     update manifest;
//   - Pick (OpenCloudFile) and SaveAs (SelectSaveAsPath): the window's
//     choosers; headless, a configured entry and KeepSuggestion.
//
// A failed call's final event carries, next to its reason, the kind of
// failure under the param "kind" (protocol.KindKey): the Name of its
// internal/errs kind, decided in one place (kindOf) from the kinds the hooks
// give their errors.
//
// It runs inside the desktop app and in `iscdesk agent`. It must not import
// the GUI toolkit; the window imports only agent/activity and
// agent/clouddrive for the values it shows, never this package.
package agent
