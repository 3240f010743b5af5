package protocol

// Transport: a user-private local stream socket (see SocketPath). Framing:
// one JSON-RPC 2.0 message per line, UTF-8, '\n'-terminated, at most
// MaxFrameBytes bytes including the newline. Requests go from the program to
// the agent; the agent answers each at once (accepted or refused) and reports
// outcomes later as "event" notifications whose params are the published
// event object {"operate", "params", "comeBackParams"}.

import "encoding/json"

// Version is the protocol version of this package; the agent refuses a
// hello with a higher version.
const Version = 1

// MaxFrameBytes bounds one message. A longer line is a protocol error: the
// reader reports it and closes the connection rather than buffer it.
const MaxFrameBytes = 1 << 20

// Method names (JSON-RPC "method").
const (
	MethodHello               = "hello"
	MethodGetLicenseString    = "getLicenseString"
	MethodGetLicenseFile      = "getLicenseFile"
	MethodLicenseVerifyNotify = "licenseVerifyNotify"
	MethodCheckNewVersions    = "checkNewVersions"
	MethodUpgradeNotify       = "upgradeNotify"
	MethodOpenCloudFile       = "openCloudFile"
	MethodSave                = "save"
	MethodGetSolution         = "getSolution"
	MethodSelectSaveAsPath    = "selectSaveAsPath"
	MethodEvent               = "event" // notification from the agent
)

// Event names ("operate"). The first seven are published; SolutionResult is
// this project's answer to GetSolution.
const (
	EventLicenseVerify  = "LicenseVerify"
	EventUpgradeNotice  = "UpgradeNotice"
	EventUpdate         = "Update"
	EventOpenFile       = "OpenFile"
	EventUploadStart    = "UploadStart"
	EventUploadEnd      = "UploadEnd"
	EventSaveResult     = "SaveResult"
	EventSolutionResult = "SolutionResult"
	// EventLicenseQueued (this project's, floating licenses): the pool of
	// leases is full and the agent queued the program's license request
	// (LicenseParams.Queue); its LicenseVerify follows when a lease frees.
	// Its params name the holders (HoldersKey) and the earliest end
	// (EarliestEndKey).
	EventLicenseQueued = "LicenseQueued"
	// EventSaveAsPath answers selectSaveAsPath (the published "select
	// save-as path" call): where in the cloud drive the user chose to save
	// (SavePathKey, NameKey, FileNameKey, AssemblyKey).
	EventSaveAsPath = "SaveAsPath"
)

// Status values in event params.
const (
	StatusSuccess = "success"
	StatusFailed  = "failed"
)

// RequestIDKey is the comeBackParams key under which every event carries the
// id of the request it answers (besides the caller's own comeBackParams).
const RequestIDKey = "requestId"

// Keys of event params. Every value is a string.
const (
	// StatusKey holds StatusSuccess or StatusFailed in SaveResult,
	// SolutionResult and UploadEnd, and in OpenFile, UpgradeNotice and
	// Update when they report a failure (they have no status otherwise).
	StatusKey = "status"
	// LicenseStatusKey is the status of LicenseVerify: capital S, as
	// published.
	LicenseStatusKey = "Status"
	// ReasonKey says why, in a final event whose status is failed.
	ReasonKey = "reason"
	// KindKey is the machine-readable kind of a failure (the name of an
	// error kind, such as "expired"), next to ReasonKey.
	KindKey = "kind"

	// LicenseVerify.
	LicenseContentKey  = "LicenseContent"  // the token, for getLicenseString
	LicenseFilePathKey = "LicenseFilePath" // where it was written, for getLicenseFile
	LicenseTypeKey     = "LicenseType"     // "string" or "file"
	// A floating license's full pool, in LicenseQueued and in a failed
	// LicenseVerify: RefusalKey "pool_full", HoldersKey a JSON array of
	// {"host","since","until"} (RFC 3339 times), EarliestEndKey when the
	// first lease ends unless renewed (RFC 3339).
	RefusalKey     = "refusal"
	HoldersKey     = "holders"
	EarliestEndKey = "earliestEnd"
	// LeaseEndsKey (LicenseVerify of a floating license): when the lease the
	// license was issued under ends unless renewed (RFC 3339); the
	// license itself ends then at the latest.
	LeaseEndsKey = "leaseEnds"

	// UpgradeNotice and Update.
	AvailableKey    = "available"    // "true" when a newer version exists
	VersionKey      = "version"      // the newer version
	FromForceWinKey = "fromForceWin" // "true": a forced upgrade; save work and exit

	// OpenFile.
	MainFileKey  = "mainFile"
	OpenTypeKey  = "openType"
	WorkStateKey = "workState"
	AssemblyKey  = "assembly" // also in UploadStart

	// UploadStart, UploadEnd, and what the default storage adds to SaveResult.
	PathKey      = "path"
	NameKey      = "name"
	CloudPathKey = "cloudPath"
	SHA256Key    = "sha256"
	BytesKey     = "bytes"

	// SaveAsPath: the path in the cloud drive the program's file is to be
	// saved as (for an assembly, its main file inside the assembly's
	// folder), the entry's name in the drive (NameKey: the file, or the
	// assembly's folder) and the file's name; AssemblyKey as asked.
	SavePathKey = "savePath"
	FileNameKey = "fileName"

	// SolutionResult, as the default solver fills it.
	ResultPathKey = "resultPath"
	LogKey        = "log"
	ExitCodeKey   = "exitCode"
)

// Event is an answer from the desktop client, in the published shape: every
// value in Params is a string ("true", not true).
type Event struct {
	Operate        string            `json:"operate"`
	Params         map[string]string `json:"params"`
	ComeBackParams map[string]string `json:"comeBackParams"`
}

// RequestID returns the id of the request the event answers ("" for events
// nobody asked for).
func (e Event) RequestID() string { return e.ComeBackParams[RequestIDKey] }

// Failed reports whether the event says its operation failed: "Status"
// (LicenseVerify) or "status" (the others) is "failed".
func (e Event) Failed() bool {
	return e.Params[StatusKey] == StatusFailed || e.Params[LicenseStatusKey] == StatusFailed
}

// Message is one JSON-RPC 2.0 frame: a request (Method and ID), a
// notification (Method, no ID), or a response (ID with Result or Error).
type Message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      *uint64         `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *RPCError       `json:"error,omitempty"`
}

// RPCError is a JSON-RPC error object.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string { return e.Message }

// JSON-RPC error codes: the standard ones, and this protocol's.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	// CodeRefused: the agent understood the call and will not do it (no valid
	// license, no solver configured, a path it may not read…); Message says
	// why.
	CodeRefused = -32001
	// CodeVersion: the hello's protocol version is not supported.
	CodeVersion = -32002
)

// HelloParams introduce the program to the agent. It is the first request
// on every connection.
type HelloParams struct {
	Protocol int    `json:"protocol"`
	App      string `json:"app"`     // the program's name
	Version  string `json:"version"` // the program's own version (for CheckNewVersions)
	PID      int    `json:"pid"`
}

// HelloResult is the agent's answer to hello.
type HelloResult struct {
	Protocol     int    `json:"protocol"`
	AgentVersion string `json:"agentVersion"`
}

// Accepted is the immediate answer to a call that reports through events.
type Accepted struct {
	RequestID string `json:"requestId"`
}

// CallParams are the params of a call that carries nothing but the
// caller's comeBackParams (checkNewVersions, openCloudFile). Every call but
// hello and licenseVerifyNotify may carry comeBackParams; the agent echoes
// them in the comeBackParams of every event of the call.
type CallParams struct {
	ComeBackParams map[string]string `json:"comeBackParams,omitempty"`
}

// LicenseParams ask for a device license bound to DevInfo (the fingerprint
// string); FileName asks for it as a file (getLicenseFile).
type LicenseParams struct {
	DevInfo  string `json:"devInfo"`
	FileName string `json:"fileName,omitempty"`
	// Queue: when the license is floating and its pool is full, wait for a
	// lease (a LicenseQueued event says so) instead of failing at once.
	Queue          bool              `json:"queue,omitempty"`
	ComeBackParams map[string]string `json:"comeBackParams,omitempty"`
}

// VerifyNotifyParams tell the agent whether the program accepted the license.
type VerifyNotifyParams struct {
	OK     bool   `json:"ok"`
	ErrMsg string `json:"errMsg,omitempty"`
}

// UpgradeParams answer an UpgradeNotice: whether to upgrade (after the
// program exits).
type UpgradeParams struct {
	Upgrade        bool              `json:"upgrade"`
	ComeBackParams map[string]string `json:"comeBackParams,omitempty"`
}

// SaveParams save a file (or, with Assembly, the folder named like the main
// file that holds it and all its dependencies) to the cloud drive.
type SaveParams struct {
	Path           string            `json:"path"`
	Assembly       bool              `json:"assembly"`
	ComeBackParams map[string]string `json:"comeBackParams,omitempty"`
}

// SolutionParams submit a model for solving.
type SolutionParams struct {
	Path           string            `json:"path"`
	ComeBackParams map[string]string `json:"comeBackParams,omitempty"`
}

// SaveAsParams ask the user where in the cloud drive to save (the published
// "select save-as path"): FileName is the name the program suggests (a plain
// file name, no folder), Assembly says it will save an assembly (the folder
// named like the main file). A SaveAsPath event answers.
type SaveAsParams struct {
	FileName       string            `json:"fileName"`
	Assembly       bool              `json:"assembly,omitempty"`
	ComeBackParams map[string]string `json:"comeBackParams,omitempty"`
}
