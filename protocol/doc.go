// Package protocol is the local protocol between a vendor's program and the
// iscdesk agent (the part of the desktop client that serves programs): where
// the agent listens (SocketPath), how messages are framed (one JSON-RPC 2.0
// message per line, at most MaxFrameBytes: ReadMessage, WriteMessage), and
// what is said (method names, their params, the events that answer them,
// the events' param keys and status values).
//
// Its one job is the codec: both sides speak through it, package sdk to call
// and the agent to answer, so every name on the wire is spelled once. It
// neither dials nor serves; the connection, reconnecting and delivering
// events are the sdk's, handling the calls is the agent's.
//
// It imports only the standard library (internal/layers checks this): vendors
// compile it into their products through package sdk. docs/protocol.md
// describes the protocol for programs in other languages; a test keeps the
// names here and there in step.
package protocol
