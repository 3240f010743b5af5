package marketplace

// TEMPORARY: removed once the agent and cmd/iscdesk (and internal/wiring)
// import licensing/marketplace/wire. The wire names moved there; this is
// the one they still spell marketplace.X. Nothing new may use it.

import "github.com/iscdesk/iscdesk/licensing/marketplace/wire"

const PathUpdateManifest = wire.PathUpdateManifest
