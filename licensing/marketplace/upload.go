package marketplace

// The upload API (spec marketplace-callbacks.md): the vendor delivers the
// device license of a getLicenseAsync event as a multipart form signed with
// the AK/SK like the license API, the signature's body hash over the exact
// multipart bytes sent.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
)

const opUpload = "upload"

// UploadError is the marketplace's refusal of an upload: its error_code
// (callback.Upload*, or "HTTP nnn" when the answer had none), its message,
// and whether sending the same upload again may succeed.
type UploadError struct {
	Status    int
	Code      string
	Message   string
	Retryable bool
}

func (e *UploadError) Error() string {
	return fmt.Sprintf("marketplace refused the upload: %s %s", e.Code, e.Message)
}

// UploadForm builds the multipart body of an upload of content: one JSON
// part isvUpdateFileReq of type CHARACTERS holding content when it is text
// of at most callback.MaxCharacters bytes, else type FILE (named fileName,
// with the SHA-256 of content) followed by the part file holding content.
// It returns the body and its Content-Type.
func UploadForm(content []byte, fileName string) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	req := callback.FileRequest{Type: callback.TypeCharacters, Characters: string(content)}
	file := len(content) > callback.MaxCharacters || !utf8.Valid(content) || len(content) == 0
	if file {
		sum := sha256.Sum256(content)
		req = callback.FileRequest{Type: callback.TypeFile, FileName: fileName, SHA256: hex.EncodeToString(sum[:])}
	}
	js, err := json.Marshal(req)
	if err != nil {
		return nil, "", err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+callback.PartRequest+`"`)
	h.Set("Content-Type", "application/json")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	pw.Write(js)
	if file {
		fw, err := mw.CreateFormFile(callback.PartFile, fileName)
		if err != nil {
			return nil, "", err
		}
		fw.Write(content)
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// UploadEventFile delivers content (a device license) as the answer to the
// marketplace event eventID, once: the caller's queue retries. A refusal is
// an *UploadError wrapped in an *errs.Error; a transport failure is an
// *errs.Error of kind Unavailable (worth retrying).
func (c *Client) UploadEventFile(ctx context.Context, eventID string, content []byte, fileName string) error {
	if !c.cred.Valid() {
		return errs.Errorf(opUpload, errs.Credentials, "no AK/SK configured")
	}
	if eventID == "" || len(eventID) > callback.MaxID {
		return errs.Errorf(opUpload, errs.Invalid, "event id: 1 to %d bytes", callback.MaxID)
	}
	body, ctype, err := UploadForm(content, fileName)
	if err != nil {
		return errs.E(opUpload, errs.Other, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.attemptTimeout)
	defer cancel()
	path := callback.UploadPath(url.PathEscape(eventID))
	var lastErr error
	for _, base := range c.endpoints {
		a, err := c.sendForm(ctx, base+path, ctype, body)
		if err == nil {
			return c.judgeUpload(a)
		}
		lastErr = &errs.Error{Op: opUpload, Kind: errs.Unavailable, Err: err}
		if ctx.Err() != nil || !unreachable(err) {
			break
		}
	}
	return lastErr
}

func (c *Client) sendForm(ctx context.Context, target, ctype string, body []byte) (answer, error) {
	req, err := c.newRequestOf(ctx, target, ctype, body)
	if err != nil {
		return answer{}, err
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{}, netutil.RedactURLError(err)
	}
	defer resp.Body.Close()
	b, err := readCapped(resp.Body, MaxResponseBytes)
	c.log.DebugContext(ctx, "marketplace request", "op", opUpload, "host", req.URL.Host, "status", resp.StatusCode,
		"bytes", len(b), "duration", time.Since(start))
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// judgeUpload reads the upload API's answer: CBC.0000 with a 2xx status is
// success; the marketplace's internal failures (CBC.0999, 91381036), 5xx,
// 429 and answers without a code are worth sending again; the other codes
// are final.
func (c *Client) judgeUpload(a answer) error {
	var ans callback.UploadAnswer
	_ = json.Unmarshal(a.body, &ans)
	code := strings.TrimSpace(ans.ErrorCode)
	if code == callback.UploadOK && a.status/100 == 2 {
		return nil
	}
	e := &UploadError{Status: a.status, Code: c.clean(code, maxCodeLen), Message: c.clean(ans.ErrorMsg, maxMsgLen)}
	if code == "" {
		e.Code = fmt.Sprintf("HTTP %d", a.status)
	}
	e.Retryable = a.status >= 500 || a.status == http.StatusTooManyRequests || code == "" || callback.UploadRetryable(code)
	kind := errs.Protocol
	if !e.Retryable {
		kind = errs.Invalid
	}
	return &errs.Error{Op: opUpload, Kind: kind, Code: e.Code, Err: e}
}

// IsUploadRetryable reports whether an error of UploadEventFile is worth
// sending again.
func IsUploadRetryable(err error) bool {
	var ue *UploadError
	if errors.As(err, &ue) {
		return ue.Retryable
	}
	return err != nil && errs.KindOf(err) != errs.Credentials && errs.KindOf(err) != errs.Invalid
}
