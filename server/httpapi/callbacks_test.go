package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/httpapi"
	"github.com/iscdesk/iscdesk/server/servertest"
)

// postCallback signs body with the test callback key at the env's clock and
// posts it to path.
func postCallback(t testing.TB, f *fixture, path string, body []byte) (int, callback.Answer) {
	t.Helper()
	signed, err := callback.SignURL(f.url+path, servertest.CallbackKey, body, f.env.Clock.Now(), callback.NewNonce())
	if err != nil {
		t.Fatal(err)
	}
	return postRaw(t, signed, body)
}

func postRaw(t testing.TB, target string, body []byte) (int, callback.Answer) {
	t.Helper()
	resp, err := http.Post(target, "application/json; charset=UTF-8", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a callback.Answer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("answer %q: %v", raw, err)
	}
	return resp.StatusCode, a
}

func TestCallbackRoutes(t *testing.T) {
	f := start(t, httpapi.Limits{})
	code := f.env.Code(t, 1)
	release := []byte(fmt.Sprintf(`{"activity":"releaseLicenseCode","license":%q,"orderId":"o1"}`, code))
	for _, c := range []struct {
		name, path string
		body       []byte
		status     int
		result     string
	}{
		{"one URL", httpapi.PathCallbacks, release, 200, callback.ResultSuccess},
		{"product URL", httpapi.PathCallbacks + "/prod-1", release, 200, callback.ResultSuccess},
		{"per-event URL of a product not configured so", httpapi.PathCallbacks + "/prod-1/releaseLicenseCode", release, 200, callback.ResultInvalidParam},
		{"unknown event", httpapi.PathCallbacks + "/prod-1/deleteEverything", release, 404, callback.ResultInvalidParam},
		{"too large", httpapi.PathCallbacks, bytes.Repeat([]byte(" "), callback.MaxBody+1), 413, callback.ResultInvalidParam},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, a := postCallback(t, f, c.path, c.body)
			if status != c.status || a.ResultCode != c.result {
				t.Fatalf("%d %+v, want %d %s", status, a, c.status, c.result)
			}
		})
	}
	// Unsigned: 000001, nothing recorded.
	status, a := postRaw(t, f.url+httpapi.PathCallbacks, release)
	if status != 200 || a.ResultCode != callback.ResultAuthFailed {
		t.Fatalf("unsigned: %d %+v", status, a)
	}
	// Neither the key, the signature nor the whole code is logged.
	logs := f.logs.String()
	for _, secret := range []string{servertest.CallbackKey, code} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log holds %q", secret)
		}
	}
	if !strings.Contains(logs, `"result":"000000"`) {
		t.Fatalf("the request log lacks the result code: %s", logs)
	}
}

// A product configured for the header form: x-sign, x-timestamp, x-nonce.
func TestCallbackHeaderForm(t *testing.T) {
	env := servertest.New(t, "", server.Config{})
	svc := env.ServiceWith(t, env.Deps(t), func(c *server.Config) {
		c.Products = map[string]server.Product{"kit": {CallbackSignature: server.CallbackSignatureHeader}}
	})
	ts := httptest.NewServer(httpapi.New(httpapi.Config{Service: svc, Now: env.Clock.Now}))
	defer ts.Close()
	body := []byte(fmt.Sprintf(`{"activity":"releaseLicenseCode","license":%q}`, env.Code(t, 1)))
	send := func(sig string) callback.Answer {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+httpapi.PathCallbacks+"/kit", bytes.NewReader(body))
		stamp := callback.Timestamp(env.Clock.Now())
		nonce := callback.NewNonce()
		if sig == "" {
			sig = callback.SignHeader(servertest.CallbackKey, nonce, stamp, body)
		}
		req.Header.Set(callback.HeaderSignature, sig)
		req.Header.Set(callback.HeaderTimestamp, stamp)
		req.Header.Set(callback.HeaderNonce, nonce)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a callback.Answer
		_ = json.NewDecoder(resp.Body).Decode(&a)
		return a
	}
	if a := send(strings.Repeat("00", 32)); a.ResultCode != callback.ResultAuthFailed {
		t.Fatalf("bad signature: %+v", a)
	}
	if a := send(""); a.ResultCode != callback.ResultSuccess {
		t.Fatalf("header form: %+v", a)
	}
}

// The async license over HTTP, and the callback metrics.
func TestCallbackAsyncHTTP(t *testing.T) {
	f := start(t, httpapi.Limits{})
	d := servertest.NewDevice(4)
	body, _ := json.Marshal(callback.Event{Activity: callback.ActivityLicense, InstanceID: "i-1", EventID: "ev-http",
		EffectiveTime: callback.FormatTime(f.env.Clock.Now()), DeviceFingerprint: d.Fingerprint, TestFlag: "1"})
	_, a := postCallback(t, f, httpapi.PathCallbacks, body)
	if a.ResultCode != callback.ResultSuccess {
		t.Fatalf("%+v", a)
	}
	if ups := f.env.Receiver.Uploads(); len(ups) != 1 || ups[0].EventID != "ev-http" || ups[0].Type != callback.TypeCharacters {
		t.Fatalf("uploads %+v", ups)
	}
	resp, err := http.Get(f.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if want := `iscdesk_server_callbacks_total{activity="getLicenseAsync",result="000000"} 1`; !strings.Contains(string(raw), want) {
		t.Fatalf("metrics lack %s", want)
	}
}

// A callback's answer time through HTTP: every call a new event (a write;
// for async a license signed, stored and uploaded inline to the receiver),
// 8 at once; p50 and p99 reported (target p99 < 100 ms). On SQLite, and on
// PostgreSQL through two APIs (replicas) taking turns.
func BenchmarkCallback(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres-2"} {
		for _, kind := range []string{"refresh", "async"} {
			b.Run(db+"/"+kind, func(b *testing.B) { benchCallback(b, db, kind) })
		}
	}
}

func benchCallback(b *testing.B, db, kind string) {
	limits := httpapi.Limits{PerAddr: -1, ActivatePerAddr: -1, ActivatePerCode: -1}
	dbURL := ""
	if db != "sqlite" {
		dbURL = testutil.StartPostgres(b).NewDatabase(b)
	}
	f := startOn(b, limits, dbURL)
	urls := []string{f.url}
	if db != "sqlite" {
		replica := httptest.NewServer(httpapi.New(httpapi.Config{Service: f.env.Replica(b), Limits: limits, Now: f.env.Clock.Now}))
		b.Cleanup(replica.Close)
		urls = []string{f.url, replica.URL}
	}
	code := f.env.Code(b, 1)
	base := f.env.Clock.Now().Add(24 * time.Hour)
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	b.ResetTimer()
	for range 8 {
		wg.Go(func() {
			var mine []time.Duration
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					break
				}
				var body []byte
				if kind == "refresh" {
					body = []byte(fmt.Sprintf(`{"activity":"refreshLicenseCode","scene":"RENEWAL","license":%q,"expireTime":%q}`,
						code, base.Add(time.Duration(i)*time.Second).UTC().Format(callback.ExpireLayout)))
				} else {
					body, _ = json.Marshal(callback.Event{Activity: callback.ActivityLicense, InstanceID: "i", EventID: fmt.Sprint("ev", i),
						EffectiveTime: callback.FormatTime(f.env.Clock.Now()), DeviceFingerprint: servertest.NewDevice(int(i % 5000)).Fingerprint})
				}
				signed, err := callback.SignURL(urls[i%int64(len(urls))]+httpapi.PathCallbacks, servertest.CallbackKey, body, f.env.Clock.Now(), callback.NewNonce())
				if err != nil {
					b.Error(err)
					return
				}
				start := time.Now()
				_, a := postRaw(b, signed, body)
				mine = append(mine, time.Since(start))
				if a.ResultCode != callback.ResultSuccess {
					b.Errorf("%+v", a)
					return
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// Whatever the query and body, the callback route answers a published
// code with 200 (or 404/413 for a path or size it refuses), and an
// unsigned call changes nothing.
func FuzzCallback(f *testing.F) {
	f.Add("signature=AB&timestamp=1772442000000&nonce=n", []byte(`{"activity":"releaseLicenseCode","license":"PLX"}`), "")
	f.Add("", []byte(`{}`), "p/getLicenseAsync")
	f.Add("nonce=%zz", []byte(`[`), "p")
	env := servertest.New(f, "", server.Config{})
	api := httpapi.New(httpapi.Config{Service: env.Service, Limits: httpapi.Limits{PerAddr: -1}, Now: env.Clock.Now})
	codes := []string{callback.ResultSuccess, callback.ResultAuthFailed, callback.ResultInvalidParam, callback.ResultNotFound,
		callback.ResultProcessing, callback.ResultInternal, callback.ResultNoQuota, callback.ResultOutsideValid,
		callback.ResultNeedExpiry, callback.ResultNeedDeviceInfo}
	f.Fuzz(func(t *testing.T, query string, body []byte, tail string) {
		target := httpapi.PathCallbacks
		if tail != "" {
			target += "/" + url.PathEscape(tail)
		}
		req := httptest.NewRequest(http.MethodPost, target+"?"+url.PathEscape(query), bytes.NewReader(body))
		req.URL.RawQuery = query
		w := httptest.NewRecorder()
		api.ServeHTTP(w, req)
		var a callback.Answer
		if (w.Code == http.StatusNotFound || w.Code/100 == 3) && !strings.HasPrefix(w.Body.String(), `{"resultCode"`) {
			return // a path the mux does not route to callbacks, or redirects to its clean form ("/.")
		}
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || !slices.Contains(codes, a.ResultCode) {
			t.Fatalf("%d %q", w.Code, w.Body.String())
		}
		if w.Code >= 500 || a.ResultCode == callback.ResultSuccess || a.ResultCode == callback.ResultProcessing {
			t.Fatalf("an unsigned call: %d %+v", w.Code, a)
		}
	})
}
