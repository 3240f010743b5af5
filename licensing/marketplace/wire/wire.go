// Package wire is the wire format of the marketplace license API and of
// iscdesk's extension of it: paths, request bodies, answer envelopes and
// their data, result codes, the marketplace's time layout. The client
// (licensing/marketplace) sends and reads these, and the local sandbox
// (licensing/sandbox) serves them; keeping them here lets the sandbox speak
// the protocol without importing the client, whose logic it must not borrow
// since the client is tested against it.
//
// Its one job is the shapes and names on the wire: no logic, no I/O. What
// an answer means (the result table), how lenient parsing is and which host
// to call are the client's. It imports only the standard library and the
// pure packages fingerprint/devinfo and token, never the client, the
// sandbox or sdk (internal/layers checks this).
package wire

// The wire format of the marketplace license API, as the marketplace publishes it.
// The client and the local sandbox share these definitions.

// Paths of the three endpoints the client uses.
const (
	PathActivate = "/api/mkp-openapi-public/global/v1/license/activate"
	PathQuery    = "/api/mkp-openapi-public/global/v1/license/heartbeat"
	PathUsage    = "/api/mkp-openapi-public/global/v2/license/software-usage-info"
)

// Result codes of the license API.
const (
	CodeSuccess            = "92020000"
	CodeInternal           = "92020001"
	CodeInvalidParameter   = "92020002"
	CodeIllegalState       = "92020003"
	CodeNotDelivered       = "92020004"
	CodeNotExist           = "92020005"
	CodeNotActivated       = "92020011"
	CodeBatchInvalid       = "92020020"
	CodeRequestInvalid     = "95000001" // HTTP 400
	CodeMethodNotSupported = "95000002" // HTTP 405
	CodeContentType        = "95000003" // HTTP 415
	CodeBodyNotReadable    = "95000004" // HTTP 400
)

// Gateway error codes (the dedicated gateway uses the prefix "APIG." with the
// same numbers).
const (
	GatewayNotFound     = "APIGW.0101" // 404
	GatewayBackend      = "APIGW.0201" // 400/413/414/502/504
	GatewayBadSignature = "APIGW.0301" // 401: bad AK/SK signature or clock skew
	GatewayForbidden    = "APIGW.0302" // 403
	GatewayBadAppAuth   = "APIGW.0303" // 401
)

// ActivateRequest is the body of an activation.
type ActivateRequest struct {
	License        string `json:"license"`
	RealEffectTime string `json:"real_effect_time,omitempty"` // UTC yyyyMMddHHmmss
}

// QueryRequest is the body of a query (the former heartbeat).
type QueryRequest struct {
	License string `json:"license"`
}

// UsageRequest is the body of a daily usage report.
type UsageRequest struct {
	UsageInfo []UsageEntry `json:"usage_info"`
}

// UsageEntry reports the usage of one license code.
type UsageEntry struct {
	License           string      `json:"license"`
	SoftwareUsageInfo []UsageItem `json:"software_usage_Info"` // capital I, as published
}

// UsageItem holds exactly one of ID and ActiveNum.
type UsageItem struct {
	ID        string `json:"id,omitempty"`
	ActiveNum *int   `json:"active_num,omitempty"`
}

// Envelope is the common shape of every answer; Data is decoded per call.
type Envelope[T any] struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
	Data      T      `json:"data"`
}

// ActivateData is the data of an activation answer. LicenseCodeInfo is a JSON
// document encoded as a string (see LicenseCodeInfo).
type ActivateData struct {
	LicenseCodeInfo string `json:"license_code_info"`
}

// LicenseCodeInfo is the document inside ActivateData.LicenseCodeInfo.
// ExpireTime is UTC yyyyMMddHHmmss.
type LicenseCodeInfo struct {
	Status     string  `json:"status"`
	ExpireTime string  `json:"expire_time"`
	ProductID  string  `json:"product_id"`
	OrderID    string  `json:"order_id"`
	Amount     float64 `json:"amount"`
}

// QueryData is the data of a query answer. Time fields are UTC
// yyyyMMddHHmmss (RFC 3339 is accepted too).
type QueryData struct {
	LicenseCode  string `json:"license_code"`
	Status       string `json:"status"`
	ActivateTime string `json:"activate_time"`
	ExpireTime   string `json:"expire_time"`
	ProductID    string `json:"product_id,omitempty"`
	OrderID      string `json:"order_id,omitempty"`
}

// TimeLayout is the marketplace's compact UTC time format.
const TimeLayout = "20060102150405"
