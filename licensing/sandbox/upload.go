package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
)

// maxUploads bounds the uploads kept in the state file (content included;
// the whole file is rewritten at every change); the oldest go first.
const maxUploads = 100

// maxFileName caps a FILE upload's file_name.
const maxFileName = 255

// Upload is one upload the sandbox received at callback.UploadPattern and
// got past the signature check.
type Upload struct {
	Received time.Time `json:"received"`
	EventID  string    `json:"event_id"`
	Type     string    `json:"type,omitempty"`      // CHARACTERS or FILE
	FileName string    `json:"file_name,omitempty"` // FILE
	// SHA256 is the lower-case hex SHA-256 of Content.
	SHA256 string `json:"sha256,omitempty"`
	// Content is what was delivered: the characters, or the file's bytes.
	Content []byte `json:"content,omitempty"`
	// ErrorCode is the upload API's answer (CBC.0000 when accepted) and
	// Reason why it was refused.
	ErrorCode string `json:"error_code"`
	Reason    string `json:"reason,omitempty"`
	// Changed is set on an accepted upload whose content differs from the
	// last accepted one for the same event: the vendor did not deliver
	// the same license for the same request.
	Changed bool `json:"changed,omitempty"`
}

// Accepted reports whether the sandbox answered CBC.0000.
func (u Upload) Accepted() bool { return u.ErrorCode == callback.UploadOK }

// Uploads returns the uploads received, oldest first (at most the last
// 100).
func (s *Server) Uploads() []Upload {
	var u []Upload
	s.view(func(st *state) { u = slices.Clone(st.Uploads) })
	return u
}

// Delivered returns the content of the last accepted upload for eventID:
// for the vendor server, the device license it issued.
func (s *Server) Delivered(eventID string) ([]byte, error) {
	var (
		b  []byte
		ok bool
	)
	s.view(func(st *state) {
		for i := len(st.Uploads) - 1; i >= 0; i-- {
			if u := st.Uploads[i]; u.EventID == eventID && u.Accepted() {
				b, ok = slices.Clone(u.Content), true
				return
			}
		}
	})
	if !ok {
		return nil, errs.E("sandbox.Delivered", errs.NotFound, fmt.Errorf("no upload accepted for event %s", eventID))
	}
	return b, nil
}

// deliveredOther reports whether the last accepted upload for event
// delivered other content than content.
func (st *state) deliveredOther(event string, content []byte) bool {
	for i := len(st.Uploads) - 1; i >= 0; i-- {
		if u := st.Uploads[i]; u.EventID == event && u.Accepted() {
			return !bytes.Equal(u.Content, content)
		}
	}
	return false
}

// FailUploads makes the sandbox answer the next n uploads that it would
// accept with 500 CBC.0999 instead (recorded, nothing delivered), as a
// marketplace outage would; 0 ends it.
func (s *Server) FailUploads(n int) error {
	if n < 0 {
		return errs.E("sandbox.FailUploads", errs.Invalid, errors.New("a count of 0 or more"))
	}
	return s.update(func(st *state) error {
		st.FailUploads = n
		return nil
	})
}

// uploadEvent returns the event id of an upload path, or ok false when path
// is not one.
func uploadEvent(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, callback.UploadPathPrefix)
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, callback.UploadPathSuffix)
}

// uploadStatus is the HTTP status of each upload answer code.
func uploadStatus(code string) int {
	switch code {
	case callback.UploadOK:
		return http.StatusOK
	case callback.UploadIllegal, callback.UploadNoPermissions:
		return http.StatusForbidden
	case callback.UploadInternal, callback.UploadInner:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func uploadAnswer(code, msg string) answer {
	return answer{status: uploadStatus(code), code: code, body: callback.UploadAnswer{ErrorCode: code, ErrorMsg: msg}}
}

// upload answers POST callback.UploadPath(event): the gateway's checks
// (method, size, AK/SK over the exact bytes), then the multipart shape,
// the event, fault injection; the upload is recorded before it is
// answered.
func (s *Server) upload(r *http.Request, event string) answer {
	if r.Method != http.MethodPost {
		return notAllowed(r.Method, http.MethodPost)
	}
	body, now, a, ok := s.gateway(r)
	if !ok {
		return a
	}
	u := Upload{Received: now.UTC(), EventID: event}
	req, content, err := ParseUpload(r.Header.Get("Content-Type"), body)
	switch {
	case err != nil:
		u.ErrorCode, u.Reason = callback.UploadInvalid, err.Error()
	default:
		u.Type, u.FileName, u.Content = req.Type, req.FileName, content
		sum := sha256.Sum256(content)
		u.SHA256 = hex.EncodeToString(sum[:])
	}
	err = s.update(func(st *state) error {
		switch {
		case u.ErrorCode != "":
		case !validEventID(event) || !st.knownEvent(event):
			u.ErrorCode, u.Reason = callback.UploadResource, "no getLicenseAsync event with this id"
		case st.FailUploads > 0:
			st.FailUploads--
			u.ErrorCode, u.Reason = callback.UploadInternal, "fault injected"
		default:
			u.ErrorCode = callback.UploadOK
			u.Changed = st.deliveredOther(event, u.Content)
		}
		st.Uploads = append(st.Uploads, u)
		if extra := len(st.Uploads) - maxUploads; extra > 0 {
			st.Uploads = slices.Delete(st.Uploads, 0, extra)
		}
		return nil
	})
	if err != nil {
		s.log.Error("sandbox upload: save", "err", err)
		return uploadAnswer(callback.UploadInternal, "internal error")
	}
	msg := "success"
	if !u.Accepted() {
		msg = u.Reason
	}
	return uploadAnswer(u.ErrorCode, msg)
}

// ParseUpload reads an upload's body as the sandbox checks it: a
// multipart/form-data body with a boundary holding the JSON part
// isvUpdateFileReq once and the part file at most once, nothing else; the
// JSON strict (one object, no unknown field, no trailing data); type
// CHARACTERS with 1 to 1024 characters of UTF-8 (a file part, when sent,
// must hold the same bytes), or FILE with a file_name (no path) and the
// sha256 (hex, any case) of a non-empty file part. It returns the request
// and the content delivered (the characters or the file's bytes).
func ParseUpload(contentType string, body []byte) (callback.FileRequest, []byte, error) {
	var req callback.FileRequest
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return req, nil, errors.New("Content-Type must be multipart/form-data with a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var (
		reqPart, file []byte
		haveReq       bool
		haveFile      bool
	)
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return req, nil, fmt.Errorf("multipart body not readable: %v", err)
		}
		disp, dp, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if err != nil || disp != "form-data" {
			return req, nil, errors.New("a part without Content-Disposition: form-data")
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return req, nil, fmt.Errorf("multipart body not readable: %v", err)
		}
		switch name := dp["name"]; name {
		case callback.PartRequest:
			if haveReq {
				return req, nil, fmt.Errorf("part %s sent twice", name)
			}
			reqPart, haveReq = data, true
		case callback.PartFile:
			if haveFile {
				return req, nil, fmt.Errorf("part %s sent twice", name)
			}
			file, haveFile = data, true
		default:
			return req, nil, fmt.Errorf("unexpected part %q (want %s and %s)", name, callback.PartRequest, callback.PartFile)
		}
	}
	if !haveReq {
		return req, nil, fmt.Errorf("part %s missing", callback.PartRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(reqPart))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return callback.FileRequest{}, nil, fmt.Errorf("part %s: %v", callback.PartRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return callback.FileRequest{}, nil, fmt.Errorf("part %s: data after the JSON object", callback.PartRequest)
	}
	content, err := checkFileRequest(req, file, haveFile)
	if err != nil {
		return callback.FileRequest{}, nil, err
	}
	return req, content, nil
}

func checkFileRequest(req callback.FileRequest, file []byte, haveFile bool) ([]byte, error) {
	switch req.Type {
	case callback.TypeCharacters:
		switch n := utf8.RuneCountInString(req.Characters); {
		case req.Characters == "":
			return nil, errors.New("CHARACTERS: characters is required")
		case !utf8.ValidString(req.Characters):
			return nil, errors.New("CHARACTERS: characters is not UTF-8")
		case n > callback.MaxCharacters:
			return nil, fmt.Errorf("CHARACTERS: %d characters, at most %d", n, callback.MaxCharacters)
		case req.FileName != "" || req.SHA256 != "":
			return nil, errors.New("CHARACTERS: file_name and sha256 belong to FILE")
		case haveFile && !bytes.Equal(file, []byte(req.Characters)):
			return nil, errors.New("CHARACTERS: the file part differs from characters")
		}
		return []byte(req.Characters), nil
	case callback.TypeFile:
		switch {
		case !haveFile || len(file) == 0:
			return nil, fmt.Errorf("FILE: part %s missing or empty", callback.PartFile)
		case req.Characters != "":
			return nil, errors.New("FILE: characters belongs to CHARACTERS")
		case req.FileName == "", len(req.FileName) > maxFileName, strings.ContainsAny(req.FileName, "/\\\x00"),
			req.FileName == ".", req.FileName == "..":
			return nil, fmt.Errorf("FILE: file_name must be a name of 1 to %d bytes without a path", maxFileName)
		}
		want, err := hex.DecodeString(req.SHA256)
		if err != nil || len(want) != sha256.Size {
			return nil, errors.New("FILE: sha256 must be 64 hex digits")
		}
		if sum := sha256.Sum256(file); !bytes.Equal(sum[:], want) {
			return nil, errors.New("FILE: sha256 does not match the file part")
		}
		return file, nil
	}
	return nil, fmt.Errorf("type %q: want %s or %s", req.Type, callback.TypeCharacters, callback.TypeFile)
}
