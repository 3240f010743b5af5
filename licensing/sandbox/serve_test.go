package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/token"
)

func TestListenAndServeRefusesOtherHosts(t *testing.T) {
	srv, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:0", "10.0.0.1:8080", "example.com:0", "[::ffff:192.0.2.1]:0"} {
		err := srv.ListenAndServe(context.Background(), addr, func(string) { t.Errorf("%s: ready called", addr) })
		if !errors.Is(err, sandbox.ErrNotLoopback) {
			t.Errorf("%s: err = %v, want ErrNotLoopback", addr, err)
		}
	}
	if err := srv.ListenAndServe(context.Background(), "127.0.0.1", nil); err == nil {
		t.Error("address without a port accepted")
	}
}

func TestListenAndServeLoopback(t *testing.T) {
	addrs := []string{"127.0.0.1:0", "localhost:0"}
	if ln, err := net.Listen("tcp", "[::1]:0"); err == nil {
		ln.Close()
		addrs = append(addrs, "[::1]:0")
	}
	for _, addr := range addrs {
		t.Run(addr, func(t *testing.T) {
			srv, err := sandbox.New(sandbox.Config{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			urls := make(chan string, 1)
			done := make(chan error, 1)
			go func() { done <- srv.ListenAndServe(ctx, addr, func(u string) { urls <- u }) }()
			var url string
			select {
			case url = <-urls:
			case err := <-done:
				t.Fatalf("ListenAndServe: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("ready not called")
			}
			if !regexp.MustCompile(`^http://(127\.0\.0\.1|\[::1\]):[0-9]+$`).MatchString(url) {
				t.Errorf("url %q", url)
			}
			resp, err := http.Get(url + wire.PathQuery)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
				t.Errorf("GET answered %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("after cancel: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no shutdown after cancel")
			}
			if _, err := http.Get(url); err == nil {
				t.Error("still serving after shutdown")
			}
		})
	}
}

// Print writes the lines the CLI contract names, in its order.
func TestPrint(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	var out bytes.Buffer
	if err := e.srv.Print(&out, "http://127.0.0.1:8790"); err != nil {
		t.Fatal(err)
	}
	cred := e.srv.Credentials()
	want := []string{"listening on http://127.0.0.1:8790", "ak: " + cred.AK, "sk: " + cred.SK, "callback_key: " + e.srv.CallbackKey(),
		"server_key: " + token.EncodePublicKey(e.srv.VendorPublicKey())}
	for _, c := range e.srv.Codes() {
		want = append(want, fmt.Sprintf("code: %s (%s)", c.Code, c.State))
	}
	if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Print wrote\n%s\nwant\n%s", out.String(), strings.Join(want, "\n"))
	}
	codeLine := regexp.MustCompile(`^code: PL[0-9A-F]{30} \((ready|active|undelivered|expired|released)\)$`)
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n")[5:] {
		if !codeLine.MatchString(line) {
			t.Errorf("line %q", line)
		}
	}
}

// With a vendor URL set, Print names it after server_key, before the codes.
func TestPrintVendorURL(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.srv.SetVendorURL("https://vendor.example/cb/{activity}"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := e.srv.Print(&out, "http://127.0.0.1:8790"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.HasPrefix(lines[4], "server_key: ") || lines[5] != "vendor_url: https://vendor.example/cb/{activity}" ||
		!strings.HasPrefix(lines[6], "code: ") {
		t.Fatalf("Print wrote\n%s", out.String())
	}
}
