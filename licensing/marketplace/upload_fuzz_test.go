package marketplace

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
)

// The upload API's answer parser: success only for CBC.0000 with a 2xx
// status; never a panic; never a key in the error.
func FuzzUploadAnswer(f *testing.F) {
	f.Add(200, []byte(`{"error_code":"CBC.0000","error_msg":"ok"}`))
	f.Add(500, []byte(`{"error_code":"CBC.0999","error_msg":"`+testSK+`"}`))
	f.Add(400, []byte(`{"error_code":"91381033"}`))
	f.Add(200, []byte(`not json`))
	c := &Client{redactor: redactorFor(aksk.Credentials{AK: testAK, SK: testSK})}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		err := c.judgeUpload(answer{status: status, body: body})
		var ans callback.UploadAnswer
		_ = json.Unmarshal(body, &ans)
		ok := strings.TrimSpace(ans.ErrorCode) == callback.UploadOK && status/100 == 2
		if (err == nil) != ok {
			t.Fatalf("status %d body %q: err %v", status, body, err)
		}
		if err != nil {
			var ue *UploadError
			if !errors.As(err, &ue) || ue.Code == "" {
				t.Fatalf("not an UploadError: %v", err)
			}
			if strings.Contains(err.Error(), testSK) {
				t.Fatal("the secret key in an error")
			}
		}
	})
}
