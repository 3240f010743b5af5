package wiring

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

// Whatever a layer logs, the process's log lines carry no URL credentials,
// queries or fragments: messages, strings, errors, *url.URL values, groups
// and attributes added with With.
func TestLogsRedactURLs(t *testing.T) {
	var buf bytes.Buffer
	e := testEnv(t, nil)
	e.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	proxy, _ := url.Parse("http://user:s3cret@proxy.example:3128")
	log := e.logger().With("proxy", "http://user:s3cret@proxy.example:3128")
	log.Info("fetching https://TOKEN@host/m.json?token=s3cret",
		"err", fmt.Errorf(`Get "https://host/x?sig=s3cret": %w`, errors.New("refused")),
		"url", proxy,
		slog.Group("req", "to", "https://host/y#s3cret"))
	out := buf.String()
	if strings.Contains(out, "s3cret") || strings.Contains(out, "TOKEN") {
		t.Fatalf("a credential is logged:\n%s", out)
	}
	for _, want := range []string{"proxy.example:3128", "https://host/m.json", "refused", "https://host/y"} {
		if !strings.Contains(out, want) {
			t.Errorf("log line lacks %q:\n%s", want, out)
		}
	}
}
