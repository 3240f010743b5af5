package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/licensing/aksk"

	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
)

// FuzzParseUpload: the upload parser never panics, and what it accepts
// keeps its promises: a known type, CHARACTERS of 1 to 1024 characters of
// UTF-8 delivered as is, FILE content non-empty and matching its sha256.
func FuzzParseUpload(f *testing.F) {
	const boundary = "b0undary"
	ct := "multipart/form-data; boundary=" + boundary
	mp := func(parts ...string) []byte {
		var b bytes.Buffer
		for i := 0; i+1 < len(parts); i += 2 {
			b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + parts[i] + "\"\r\n\r\n" + parts[i+1] + "\r\n")
		}
		b.WriteString("--" + boundary + "--\r\n")
		return b.Bytes()
	}
	h := sha256.Sum256([]byte("LICENSE"))
	f.Add(ct, mp(callback.PartRequest, `{"type":"CHARACTERS","characters":"abc"}`))
	f.Add(ct, mp(callback.PartRequest, `{"type":"FILE","file_name":"l","sha256":"`+hex.EncodeToString(h[:])+`"}`, callback.PartFile, "LICENSE"))
	f.Add(ct, mp(callback.PartRequest, `{"type":"CHARACTERS","characters":"abc"}`, callback.PartFile, "abc"))
	f.Add(ct, mp(callback.PartFile, "x", callback.PartFile, "x"))
	f.Add("application/json", []byte(`{}`))
	f.Add(ct, []byte("--"+boundary+"\r\n\r\n"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req, content, err := ParseUpload(contentType, body)
		if err != nil {
			return
		}
		switch req.Type {
		case callback.TypeCharacters:
			if req.Characters == "" || !utf8.ValidString(req.Characters) || utf8.RuneCountInString(req.Characters) > callback.MaxCharacters ||
				string(content) != req.Characters {
				t.Fatalf("accepted CHARACTERS %q -> %q", req.Characters, content)
			}
		case callback.TypeFile:
			sum := sha256.Sum256(content)
			want, _ := hex.DecodeString(req.SHA256)
			if len(content) == 0 || !bytes.Equal(sum[:], want) || req.FileName == "" {
				t.Fatalf("accepted FILE %+v with %d bytes", req, len(content))
			}
		default:
			t.Fatalf("accepted type %q", req.Type)
		}
	})
}

// FuzzUploadHandler sends signed bodies of any shape to the upload path of
// a known and an unknown event: the handler never panics, always answers a
// JSON object with an error_code of the published set and its HTTP status,
// and records only what it accepted as delivered.
func FuzzUploadHandler(f *testing.F) {
	const boundary = "b0undary"
	f.Add(false, "multipart/form-data; boundary="+boundary,
		[]byte("--"+boundary+"\r\nContent-Disposition: form-data; name=\"isvUpdateFileReq\"\r\n\r\n{\"type\":\"CHARACTERS\",\"characters\":\"abc\"}\r\n--"+boundary+"--\r\n"))
	f.Add(true, "multipart/form-data; boundary="+boundary, []byte("--"+boundary+"--\r\n"))
	f.Add(false, "application/json", []byte(`{}`))
	f.Fuzz(func(t *testing.T, unknown bool, contentType string, body []byte) {
		now := time.Date(2026, 3, 17, 14, 42, 37, 0, time.UTC)
		srv := fuzzServer(now)
		srv.st.Events = []string{"ev-1"}
		event := "ev-1"
		if unknown {
			event = "ev-2"
		}
		r := httptest.NewRequest(http.MethodPost, callback.UploadPath(event), bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		if err := aksk.Sign(r, body, srv.Credentials(), now); err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		var a callback.UploadAnswer
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
			t.Fatalf("answer %d is not JSON: %q", w.Code, w.Body.Bytes())
		}
		want := map[string]int{callback.UploadOK: 200, callback.UploadInvalid: 400, callback.UploadResource: 400}[a.ErrorCode]
		if want == 0 || w.Code != want {
			t.Fatalf("answer %d %s", w.Code, a.ErrorCode)
		}
		_, err := srv.Delivered(event)
		if (a.ErrorCode == callback.UploadOK) != (err == nil) || (unknown && err == nil) {
			t.Fatalf("answer %s, Delivered: %v", a.ErrorCode, err)
		}
	})
}

// FuzzAdmin feeds any body to every admin call: the handler never panics,
// answers JSON with a status of the documented set, and refuses everything
// without the token.
func FuzzAdmin(f *testing.F) {
	ops := []string{"refresh", "release", "auto-renew", "license", "callbacks", "uploads", "fail-uploads", "vendor-url", "x"}
	for _, body := range []string{
		`{"license":"PLFUZZACTIVE","expire_time":"20300101000000"}`,
		`{"license":"PLFUZZACTIVE","at":"20300101000000"}`,
		`{"instance_id":"i","event_id":"e","expire_time":"20300101000000","test_flag":"1"}`,
		`{"count":3}`, `{"url":"http://127.0.0.1:1/cb"}`, `{}`, `[]`, `{"license":1}`, ``,
	} {
		for i := range ops {
			f.Add(uint8(i), true, []byte(body))
		}
	}
	f.Fuzz(func(t *testing.T, op uint8, authorized bool, body []byte) {
		srv := fuzzServer(time.Date(2026, 3, 17, 14, 42, 37, 0, time.UTC))
		srv.st.AdminToken = "TOKEN"
		r := httptest.NewRequest(http.MethodPost, AdminPrefix+ops[int(op)%len(ops)], bytes.NewReader(body))
		if authorized {
			r.Header.Set("Authorization", "Bearer TOKEN")
		}
		before := len(srv.st.Outbox)
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer %d is not JSON: %q", w.Code, w.Body.Bytes())
		}
		switch w.Code {
		case 200, 400, 404, 409:
		case 401:
			if authorized {
				t.Fatalf("401 with the token")
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
		}
		if !authorized && (w.Code != 401 || len(srv.st.Outbox) != before) {
			t.Fatalf("without the token: %d, %d callbacks", w.Code, len(srv.st.Outbox))
		}
	})
}
