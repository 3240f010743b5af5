package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
)

// The systemd units and the container recipe of deploy/server run commands
// this binary accepts, and systemd finds nothing wrong in the units.
func TestDeployRecipes(t *testing.T) {
	bin := binary(t)
	root := testutil.ModuleRoot(t)
	dir := t.TempDir()
	for _, unit := range []string{"iscdesk-server.service", "iscdesk-server-init.service"} {
		raw, err := os.ReadFile(filepath.Join(root, "deploy", "server", unit))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/iscdesk-server (.*)$`).FindSubmatch(raw)
		if m == nil {
			t.Fatalf("%s: no ExecStart of /usr/local/bin/iscdesk-server", unit)
		}
		checkArgs(t, bin, unit, strings.Fields(string(m[1])))
		if analyze, err := exec.LookPath("systemd-analyze"); err == nil {
			local := filepath.Join(dir, unit)
			if err := os.WriteFile(local, []byte(strings.ReplaceAll(string(raw), "/usr/local/bin/iscdesk-server", bin)), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(analyze, "verify", local).CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "server", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CMD \[(.*)\]$`).FindSubmatch(raw)
	if m == nil || !strings.Contains(string(raw), `ENTRYPOINT ["/usr/local/bin/iscdesk-server"]`) {
		t.Fatal("Dockerfile: no ENTRYPOINT of the server or no CMD")
	}
	var args []string
	for _, a := range strings.Split(string(m[1]), ",") {
		args = append(args, strings.Trim(strings.TrimSpace(a), `"`))
	}
	checkArgs(t, bin, "Dockerfile", args)
}

// checkArgs runs the command's --help with the recipe's flags: an unknown
// flag or command exits 2.
func checkArgs(t *testing.T, bin, where string, args []string) {
	t.Helper()
	r := testutil.Run(t, bin, nil, append(args, "--help")...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "Usage: iscdesk-server "+args[0]) {
		t.Errorf("%s: iscdesk-server %s: exit %d\n%s%s", where, strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
}
