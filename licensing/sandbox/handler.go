package sandbox

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// MaxBodyBytes is the largest request body the sandbox reads, like the
// gateway; larger ones are answered 413 APIGW.0201.
const MaxBodyBytes = 1 << 20

// answer is the outcome of one request: what to send and what to log.
type answer struct {
	status int
	body   any    // sent as JSON, unless raw is set
	raw    []byte // sent as is, as contentType (the update manifest and package)
	// contentType is raw's Content-Type; "" means application/octet-stream.
	contentType string
	allow       string // the Allow header of a 405
	code        string // error_code, for the log
	license     string // the code the request was about, for the log
	entries     int    // usage entries, for the log
}

// errorBody is the shape of every answer but a success. Gateway errors have
// exactly these two fields; so do the license API's refusals.
type errorBody struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}

func refuse(status int, code, msg string) answer {
	return answer{status: status, code: code, body: errorBody{ErrorCode: code, ErrorMsg: msg}}
}

func success[T any](data T) answer {
	return answer{status: http.StatusOK, code: wire.CodeSuccess, body: wire.Envelope[T]{
		ErrorCode: wire.CodeSuccess, ErrorMsg: "success", Data: data,
	}}
}

// Handler returns the HTTP handler serving the three marketplace endpoints
// and iscdesk's extension (device licenses, vendor key, update manifest).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	a := s.handle(r)
	if a.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", a.allow)
	}
	writeAnswer(w, a)
	s.log.Info("sandbox request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("license", a.license),
		slog.Int("entries", a.entries),
		slog.String("result", a.code),
		slog.Int("status", a.status),
		slog.Duration("took", time.Since(start)))
}

// operation answers a signed POST that passed the gateway checks.
type operation func(s *Server, obj object, now time.Time) answer

// getter answers a GET. GETs carry no signature, so only what is public may
// be served this way.
type getter func(s *Server, r *http.Request) answer

// endpoint is what one path accepts: a signed POST, a GET, or both.
type endpoint struct {
	post operation
	get  getter
}

// allow is the Allow header of a 405 on this endpoint.
func (e endpoint) allow() string {
	switch {
	case e.post != nil && e.get != nil:
		return http.MethodGet + ", " + http.MethodPost
	case e.get != nil:
		return http.MethodGet
	}
	return http.MethodPost
}

// route maps the published paths and the extension's to their endpoints.
// GETs are limited to the extension's public paths; everything else keeps
// the license API's POST-only rules.
func route(path string) (endpoint, bool) {
	switch path {
	case wire.PathActivate:
		return endpoint{post: (*Server).activate}, true
	case wire.PathQuery:
		return endpoint{post: (*Server).query}, true
	case wire.PathUsage:
		return endpoint{post: (*Server).usage}, true
	case wire.PathDeviceLicense:
		return endpoint{post: (*Server).deviceLicense}, true
	case wire.PathVendorKey:
		return endpoint{post: (*Server).vendorKeyPost, get: (*Server).vendorKeyGet}, true
	case wire.PathUpdateManifest:
		return endpoint{get: (*Server).updateManifest}, true
	case wire.PathUpdatePackage:
		return endpoint{get: (*Server).updatePackage}, true
	}
	return endpoint{}, false
}

// handle runs the checks in the order the marketplace gateway does; the
// first failing one answers.
func (s *Server) handle(r *http.Request) answer {
	if event, ok := uploadEvent(r.URL.Path); ok {
		return s.upload(r, event)
	}
	if op, ok := strings.CutPrefix(r.URL.Path, AdminPrefix); ok {
		return s.admin(r, op)
	}
	ep, ok := route(r.URL.Path)
	if !ok {
		return refuse(http.StatusNotFound, wire.GatewayNotFound, "API not found")
	}
	if r.Method == http.MethodGet && ep.get != nil {
		return ep.get(s, r)
	}
	if r.Method != http.MethodPost || ep.post == nil {
		return notAllowed(r.Method, ep.allow())
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return refuse(http.StatusUnsupportedMediaType, wire.CodeContentType, "content type not supported, use application/json")
	}
	body, now, a, ok := s.gateway(r)
	if !ok {
		return a
	}
	obj, err := decodeObject(body)
	if err != nil {
		return refuse(http.StatusBadRequest, wire.CodeBodyNotReadable, "request body not readable: "+err.Error())
	}
	return ep.post(s, obj, now)
}

// notAllowed answers a method the path does not take.
func notAllowed(method, allow string) answer {
	a := refuse(http.StatusMethodNotAllowed, wire.CodeMethodNotSupported, "method "+method+" not supported")
	a.allow = allow
	return a
}

// gateway reads the body and checks its AK/SK signature at the sandbox
// clock, as the marketplace's gateway does before any API sees a request;
// the answer is set when either fails.
func (s *Server) gateway(r *http.Request) (body []byte, now time.Time, a answer, ok bool) {
	body, a, ok = readBody(r)
	if !ok {
		return nil, now, a, false
	}
	now = s.now()
	if _, err := aksk.Verify(r, body, s.lookupKey, now); err != nil {
		return nil, now, refuse(http.StatusUnauthorized, wire.GatewayBadSignature, signatureMessage(err)), false
	}
	return body, now, answer{}, true
}

// isJSON accepts application/json with any parameters (charset=UTF-8).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// readBody reads at most MaxBodyBytes; the answer is set when it fails.
func readBody(r *http.Request) ([]byte, answer, bool) {
	tooLarge := refuse(http.StatusRequestEntityTooLarge, wire.GatewayBackend, "request body too large")
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, refuse(http.StatusBadRequest, wire.CodeBodyNotReadable, "request body not readable"), false
	}
	if len(body) > MaxBodyBytes {
		return nil, tooLarge, false
	}
	return body, answer{}, true
}

// signatureMessage says which check failed, as the gateway's messages do,
// and never echoes a key or the signature.
func signatureMessage(err error) string {
	const prefix = "Incorrect IAM authentication information: "
	switch {
	case errors.Is(err, aksk.ErrClockSkew):
		return prefix + "X-Sdk-Date missing or more than 15 minutes from the server clock"
	case errors.Is(err, aksk.ErrUnknownKey):
		return prefix + "unknown access key"
	case errors.Is(err, aksk.ErrMalformed):
		return prefix + "Authorization header missing or malformed"
	default:
		return prefix + "verify aksk signature fail"
	}
}

// writeAnswer sends a as JSON, or its raw bytes. Marshalling the sandbox's
// own types cannot fail; if it ever does, the client still gets a JSON error.
func writeAnswer(w http.ResponseWriter, a answer) {
	if a.raw != nil {
		if a.contentType == "" {
			a.contentType = "application/octet-stream"
		}
		w.Header().Set("Content-Type", a.contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(a.raw)))
		w.WriteHeader(a.status)
		w.Write(a.raw)
		return
	}
	data, err := json.Marshal(a.body)
	if err != nil {
		a.status = http.StatusInternalServerError
		data = []byte(`{"error_code":"` + wire.CodeInternal + `","error_msg":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(a.status)
	w.Write(data)
}
