package callback

import "strings"

// UploadPathPrefix and UploadPathSuffix frame the upload API's path:
// POST UploadPath(eventID) on the marketplace's API host, signed with the
// AK/SK like the license API, the exact multipart bytes hashed.
const (
	UploadPathPrefix = "/api/mkp-openapi-public/global/v1/market-event/"
	UploadPathSuffix = "/file"
	// UploadPattern is the path as a net/http pattern.
	UploadPattern = UploadPathPrefix + "{event_id}" + UploadPathSuffix
)

// UploadPath is the upload API's path for an event (eventID is a path
// segment: the caller escapes it).
func UploadPath(eventID string) string { return UploadPathPrefix + eventID + UploadPathSuffix }

// Multipart part names of an upload.
const (
	PartFile    = "file"
	PartRequest = "isvUpdateFileReq"
)

// Types of an upload.
const (
	TypeCharacters = "CHARACTERS"
	TypeFile       = "FILE"
)

// MaxCharacters caps a CHARACTERS upload.
const MaxCharacters = 1024

// FileRequest is the JSON part isvUpdateFileReq.
type FileRequest struct {
	Type       string `json:"type"`
	FileName   string `json:"file_name,omitempty"`  // FILE
	SHA256     string `json:"sha256,omitempty"`     // FILE: lower-case hex of the file part
	Characters string `json:"characters,omitempty"` // CHARACTERS, at most MaxCharacters
}

// UploadAnswer is the upload API's answer body.
type UploadAnswer struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}

// Error codes of the upload API.
const (
	UploadOK            = "CBC.0000"
	UploadIllegal       = "CBC.0150" // 403
	UploadInvalid       = "CBC.0101" // 400
	UploadInternal      = "CBC.0999" // 500
	UploadResource      = "91381033" // resource invalid
	UploadApplyInvalid  = "91381034"
	UploadNoAmount      = "91381035"
	UploadInner         = "91381036"
	UploadFormat        = "91381037"
	UploadApplyDenied   = "91381038"
	UploadNoPermissions = "91380150"
)

// UploadRetryable reports whether an upload refused with code may succeed
// when sent again (the marketplace's side failed, not the request).
func UploadRetryable(code string) bool {
	switch code {
	case UploadInternal, UploadInner:
		return true
	}
	return strings.TrimSpace(code) == ""
}
