package servertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
)

// Receiver stands in for the marketplace's upload API
// (callback.UploadPattern) until a test uses the sandbox's: it verifies the
// AK/SK signature over the exact body, reads the multipart form strictly
// (the JSON part, its type, CHARACTERS within 1024, FILE's sha256), records
// what it accepted, and can be told to fail the next uploads.
type Receiver struct {
	Cred aksk.Credentials
	Now  func() time.Time // nil: time.Now

	mu       sync.Mutex
	uploads  []Upload
	failNext int
	failCode string
	hold     chan struct{}
	calls    int
}

// Upload is one upload the receiver accepted.
type Upload struct {
	EventID string
	Type    string
	Content []byte // the characters, or the file part
	SHA256  string // FILE only
}

// FailNext makes the next n uploads fail with code (CBC.0999: retryable;
// 91381033: final).
func (r *Receiver) FailNext(n int, code string) {
	r.mu.Lock()
	r.failNext, r.failCode = n, code
	r.mu.Unlock()
}

// Hold makes every upload wait until the returned function is called (a
// marketplace that does not answer).
func (r *Receiver) Hold() (release func()) {
	ch := make(chan struct{})
	r.mu.Lock()
	r.hold = ch
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			r.hold = nil
			r.mu.Unlock()
			close(ch)
		})
	}
}

// Uploads returns the accepted uploads.
func (r *Receiver) Uploads() []Upload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Upload(nil), r.uploads...)
}

// Calls counts the requests received (accepted or not).
func (r *Receiver) Calls() int { r.mu.Lock(); defer r.mu.Unlock(); return r.calls }

func (r *Receiver) answer(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(callback.UploadAnswer{ErrorCode: code, ErrorMsg: msg})
}

// ServeHTTP implements http.Handler (mount it at callback.UploadPattern).
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.calls++
	hold := r.hold
	r.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-req.Context().Done():
			return
		}
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		r.answer(w, 400, callback.UploadInvalid, "body")
		return
	}
	if _, err := aksk.Verify(req, body, func(ak string) (string, bool) { return r.Cred.SK, ak == r.Cred.AK }, now()); err != nil {
		r.answer(w, 401, "APIGW.0301", "signature")
		return
	}
	r.mu.Lock()
	if r.failNext > 0 {
		r.failNext--
		code := r.failCode
		r.mu.Unlock()
		status := http.StatusBadRequest
		if code == callback.UploadInternal || code == callback.UploadInner {
			status = http.StatusInternalServerError
		}
		r.answer(w, status, code, "injected failure")
		return
	}
	r.mu.Unlock()
	up, ok := parseUpload(req, body)
	if !ok {
		r.answer(w, 400, callback.UploadInvalid, "multipart form")
		return
	}
	up.EventID = req.PathValue("event_id")
	r.mu.Lock()
	r.uploads = append(r.uploads, up)
	r.mu.Unlock()
	r.answer(w, 200, callback.UploadOK, "success")
}

func parseUpload(req *http.Request, body []byte) (Upload, bool) {
	mt, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return Upload{}, false
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var fr *callback.FileRequest
	var file []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Upload{}, false
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return Upload{}, false
		}
		switch p.FormName() {
		case callback.PartRequest:
			if fr != nil {
				return Upload{}, false
			}
			fr = &callback.FileRequest{}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if dec.Decode(fr) != nil {
				return Upload{}, false
			}
		case callback.PartFile:
			if file != nil {
				return Upload{}, false
			}
			file = b
		default:
			return Upload{}, false
		}
	}
	switch {
	case fr == nil:
		return Upload{}, false
	case fr.Type == callback.TypeCharacters && fr.Characters != "" && len(fr.Characters) <= callback.MaxCharacters && file == nil:
		return Upload{Type: fr.Type, Content: []byte(fr.Characters)}, true
	case fr.Type == callback.TypeFile && file != nil && fr.FileName != "":
		sum := sha256.Sum256(file)
		if hex.EncodeToString(sum[:]) != fr.SHA256 {
			return Upload{}, false
		}
		return Upload{Type: fr.Type, Content: file, SHA256: fr.SHA256}, true
	}
	return Upload{}, false
}
