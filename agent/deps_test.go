package agent_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayers checks with `go list -deps` what the agent's packages and the
// window may reach: the window gets the agent's values (activity, clouddrive)
// but never the server; the hooks' packages know nothing of the agent, the
// GUI toolkit; the server does not import the toolkit either.
func TestLayers(t *testing.T) {
	const module = "github.com/iscdesk/iscdesk/"
	tests := []struct {
		pkg     string
		allowed func(dep string) bool // non-standard dependencies
	}{
		{"../ui", func(dep string) bool { return dep != module+"agent" }},
		{".", func(dep string) bool { return !strings.HasPrefix(dep, "fyne.io/") }},
		{"./activity", func(dep string) bool { return dep == module+"agent/activity" }},
		{"./clouddrive", hookDeps},
		{"./solver", hookDeps},
		{"./updates", hookDeps},
		{"../internal/filecopy", func(dep string) bool {
			return strings.HasPrefix(dep, "golang.org/x/sys/") || dep == module+"internal/filecopy" || dep == module+"internal/errs"
		}},
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	for _, tt := range tests {
		out, err := exec.Command(gobin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", tt.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", tt.pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if !tt.allowed(dep) {
				t.Errorf("%s depends on %s", tt.pkg, dep)
			}
		}
	}
}

// hookDeps: a hook's default implementation must not reach the agent or the
// GUI toolkit.
func hookDeps(dep string) bool {
	return dep != "github.com/iscdesk/iscdesk/agent" && !strings.HasPrefix(dep, "fyne.io/")
}
