package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"unicode/utf8"

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
