package marketplace_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	"github.com/iscdesk/iscdesk/server/servertest"
)

// The upload API against a receiver that verifies the AK/SK signature over
// the exact multipart bytes (aksk.Verify) and the form's shape.
func TestUploadEventFile(t *testing.T) {
	cred := aksk.Credentials{AK: "AKupload0001", SK: "SKupload-secret-0001"}
	rcv := &servertest.Receiver{Cred: cred}
	mux := http.NewServeMux()
	mux.Handle("POST "+callback.UploadPattern, rcv)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	client := func(c aksk.Credentials) *marketplace.Client {
		cl, err := marketplace.New(marketplace.Config{Endpoint: ts.URL, Credentials: c})
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	c := client(cred)
	ctx := context.Background()

	short := []byte("eyJhbGciOiJFZERTQSJ9.payload.sig")
	long := bytes.Repeat([]byte("x"), callback.MaxCharacters+1)
	if err := c.UploadEventFile(ctx, "ev/1 with space", short, "license.jwt"); err != nil {
		t.Fatal(err)
	}
	if err := c.UploadEventFile(ctx, "ev2", long, "license.jwt"); err != nil {
		t.Fatal(err)
	}
	ups := rcv.Uploads()
	if len(ups) != 2 || ups[0].EventID != "ev/1 with space" || ups[0].Type != callback.TypeCharacters || !bytes.Equal(ups[0].Content, short) ||
		ups[1].Type != callback.TypeFile || !bytes.Equal(ups[1].Content, long) || len(ups[1].SHA256) != 64 {
		t.Fatalf("uploads %+v", ups)
	}

	for _, tc := range []struct {
		name  string
		code  string
		retry bool
	}{
		{"internal", callback.UploadInternal, true},
		{"inner", callback.UploadInner, true},
		{"resource invalid", callback.UploadResource, false},
		{"illegal", callback.UploadIllegal, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv.FailNext(1, tc.code)
			err := c.UploadEventFile(ctx, "ev3", short, "license.jwt")
			var ue *marketplace.UploadError
			if !errors.As(err, &ue) || ue.Code != tc.code || ue.Retryable != tc.retry || marketplace.IsUploadRetryable(err) != tc.retry {
				t.Fatalf("%v (%+v), want code %s retry %v", err, ue, tc.code, tc.retry)
			}
		})
	}
	// A wrong secret key: the gateway's refusal, final, and neither key in
	// the error.
	err := client(aksk.Credentials{AK: cred.AK, SK: "SKwrong-0000000000"}).UploadEventFile(ctx, "ev4", short, "license.jwt")
	if marketplace.IsUploadRetryable(err) || err == nil || strings.Contains(err.Error(), "SKwrong") {
		t.Fatalf("wrong key: %v", err)
	}
	// Unreachable: retryable.
	dead, _ := marketplace.New(marketplace.Config{Endpoint: "http://127.0.0.1:1", Credentials: cred, AttemptTimeout: time.Second})
	if err := dead.UploadEventFile(ctx, "ev5", short, "license.jwt"); !errs.Is(err, errs.Unavailable) || !marketplace.IsUploadRetryable(err) {
		t.Fatalf("unreachable: %v", err)
	}
	if err := c.UploadEventFile(ctx, "", short, "license.jwt"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("no event id: %v", err)
	}
}

// BenchmarkUploadForm: building and hashing a FILE upload's form (the
// worker does it once per attempt).
func BenchmarkUploadForm(b *testing.B) {
	content := bytes.Repeat([]byte("t"), 1500)
	for b.Loop() {
		if _, _, err := marketplace.UploadForm(content, "license.jwt"); err != nil {
			b.Fatal(err)
		}
	}
}
