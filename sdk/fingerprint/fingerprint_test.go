package fingerprint_test

import (
	"context"
	"testing"

	"github.com/iscdesk/iscdesk/fingerprint"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	sdkfingerprint "github.com/iscdesk/iscdesk/sdk/fingerprint"
)

// The SDK's call gives what the desktop client's probes give: the same
// string `iscdesk fingerprint` prints, which parses as devInfo.
func TestDevInfoIsTheProbesString(t *testing.T) {
	got := sdkfingerprint.DevInfo(context.Background())
	want := fingerprint.Collector{}.Collect(context.Background()).String()
	if got != want {
		t.Fatalf("DevInfo() = %q, the probes give %q", got, want)
	}
	if _, err := devinfo.Parse(got); err != nil {
		t.Fatalf("DevInfo() = %q does not parse: %v", got, err)
	}
}

// A context that has already ended stops the probes instead of hanging.
func TestDevInfoCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := sdkfingerprint.DevInfo(ctx)
	if _, err := devinfo.Parse(s); err != nil {
		t.Fatalf("DevInfo(cancelled) = %q does not parse: %v", s, err)
	}
}

func BenchmarkDevInfo(b *testing.B) {
	for b.Loop() {
		sdkfingerprint.DevInfo(context.Background())
	}
}
