package sdk

// TEMPORARY: removed once the agent and ui import protocol.
//
// The protocol's names moved from sdk to package protocol. Until the agent,
// ui and cmd/iscdesk (which still spell them sdk.X) and this package's
// errors.go (Event, ReasonKey) are moved over, these declarations keep the
// old spellings compiling. They are exactly the names those packages use;
// nothing new may use them.

import (
	"bufio"
	"io"

	"github.com/iscdesk/iscdesk/protocol"
)

type (
	Accepted           = protocol.Accepted
	Event              = protocol.Event
	HelloParams        = protocol.HelloParams
	HelloResult        = protocol.HelloResult
	LicenseParams      = protocol.LicenseParams
	Message            = protocol.Message
	OpenParams         = protocol.CallParams
	RPCError           = protocol.RPCError
	SaveParams         = protocol.SaveParams
	SolutionParams     = protocol.SolutionParams
	UpgradeParams      = protocol.UpgradeParams
	VerifyNotifyParams = protocol.VerifyNotifyParams
)

const (
	ProtocolVersion = protocol.Version
	MaxFrameBytes   = protocol.MaxFrameBytes

	MethodCheckNewVersions    = protocol.MethodCheckNewVersions
	MethodEvent               = protocol.MethodEvent
	MethodGetLicenseFile      = protocol.MethodGetLicenseFile
	MethodGetLicenseString    = protocol.MethodGetLicenseString
	MethodGetSolution         = protocol.MethodGetSolution
	MethodHello               = protocol.MethodHello
	MethodLicenseVerifyNotify = protocol.MethodLicenseVerifyNotify
	MethodOpenCloudFile       = protocol.MethodOpenCloudFile
	MethodSave                = protocol.MethodSave
	MethodUpgradeNotify       = protocol.MethodUpgradeNotify

	EventLicenseVerify  = protocol.EventLicenseVerify
	EventOpenFile       = protocol.EventOpenFile
	EventSaveResult     = protocol.EventSaveResult
	EventSolutionResult = protocol.EventSolutionResult
	EventUpdate         = protocol.EventUpdate
	EventUpgradeNotice  = protocol.EventUpgradeNotice
	EventUploadEnd      = protocol.EventUploadEnd
	EventUploadStart    = protocol.EventUploadStart

	StatusFailed  = protocol.StatusFailed
	StatusSuccess = protocol.StatusSuccess
	RequestIDKey  = protocol.RequestIDKey
	ReasonKey     = protocol.ReasonKey

	CodeInternalError  = protocol.CodeInternalError
	CodeInvalidParams  = protocol.CodeInvalidParams
	CodeInvalidRequest = protocol.CodeInvalidRequest
	CodeMethodNotFound = protocol.CodeMethodNotFound
	CodeParseError     = protocol.CodeParseError
	CodeVersion        = protocol.CodeVersion
)

var ErrBadFrame = protocol.ErrBadFrame

func ReadMessage(r *bufio.Reader) (Message, error) { return protocol.ReadMessage(r) }
func WriteMessage(w io.Writer, m Message) error    { return protocol.WriteMessage(w, m) }
func SocketPath() string                           { return protocol.SocketPath() }
