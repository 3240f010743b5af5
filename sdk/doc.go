// Package sdk is what industrial software (CAD, CAE, simulation) links to talk
// to the iscdesk desktop client over a user-private local channel: connect,
// ask for a device license, save files and assemblies to the cloud, open cloud
// files, solve models, check for upgrades, and receive the answers as events
// in the published JSON shape. It also verifies device licenses offline.
//
// It is compiled into vendors' products, so it stays small and pure Go: it
// must not import the GUI toolkit, the hardware probes (fingerprint,
// gopsutil), the keyring or the licensing internals. (Filled by the SDK issue.)
package sdk
