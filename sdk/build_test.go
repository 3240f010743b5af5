package sdk_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func goTool(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	return gobin
}

// TestDependencies runs `go list -deps` for every OS the SDK ships on.
func TestDependencies(t *testing.T) {
	// The only non-standard packages that sdk and a program importing only
	// sdk may depend on: vendors compile them into their products. The
	// socket checks (protocol/usersock) read the peer's credentials and the
	// folder's owner through golang.org/x/sys, the Go project's own system
	// calls (pure Go, no cgo): the standard library has no getpeereid on
	// macOS and no security descriptors on Windows.
	allowed := map[string]bool{
		"github.com/iscdesk/iscdesk/sdk":                    true,
		"github.com/iscdesk/iscdesk/fingerprint/devinfo":    true,
		"github.com/iscdesk/iscdesk/fingerprint/osid":       true,
		"github.com/iscdesk/iscdesk/token":                  true,
		"github.com/iscdesk/iscdesk/protocol":               true,
		"github.com/iscdesk/iscdesk/protocol/usersock":      true,
		"golang.org/x/sys/unix":                             true,
		"golang.org/x/sys/windows":                          true,
		"github.com/iscdesk/iscdesk/sdk/examples/vendorapp": true,
	}
	gobin := goTool(t)
	for _, goos := range []string{"linux", "windows", "darwin"} {
		t.Run(goos, func(t *testing.T) {
			cmd := exec.Command(gobin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".", "./examples/vendorapp")
			cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			for _, p := range strings.Fields(string(out)) {
				if !allowed[p] {
					t.Errorf("sdk depends on %s; it may import only the standard library, golang.org/x/sys and the pure packages fingerprint/devinfo, fingerprint/osid, token, protocol and protocol/usersock", p)
				}
			}
		})
	}
}

// TestVendorAppBinarySize builds the example program stripped and reports
// what the SDK costs a vendor's product.
func TestVendorAppBinarySize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	gobin := goTool(t)
	bin := filepath.Join(t.TempDir(), "vendorapp")
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./examples/vendorapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 8 << 20
	t.Logf("vendorapp stripped: %d bytes (%.2f MiB)", fi.Size(), float64(fi.Size())/(1<<20))
	if fi.Size() > limit {
		t.Errorf("vendorapp is %d bytes, more than %d", fi.Size(), limit)
	}
}
