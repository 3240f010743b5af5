package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
)

// `activate -` reads the code from standard input, so it never shows in
// the process list (docs/cli.md); argv still works for scripts.
func TestActivateCodeFromStandardInput(t *testing.T) {
	bin := buildBinary(t)
	srv := vendortest.Start(t, vendortest.Options{})
	env, _ := testutil.ProcessEnv(t)
	env = testutil.With(env, srv.Env()...)
	code := srv.Code(t, 1)
	cmd := exec.Command(bin, "activate", "--json", "-")
	cmd.Env, cmd.Stdin = env, strings.NewReader("  "+code+" \r\nignored\n")
	out, err := cmd.Output()
	var j licenseJSON
	if err != nil || json.Unmarshal(out, &j) != nil || !j.Valid || j.License != code {
		t.Fatalf("activate -: %v\n%s", err, out)
	}
	if r := runBin(t, bin, env, "activate", "--json", srv.Code(t, 1)); r.Code != 0 || !r.json.Valid {
		t.Fatalf("activate CODE: %d %s", r.Code, r.Stderr)
	}
}

// Without a code: exit 2 before any network call, saying how to give one.
func TestActivateWithoutCode(t *testing.T) {
	long := strings.Repeat("P", 5000) + "\n"
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"activate", "-"}, "no license code on standard input"},
		{"\n  \n", []string{"activate", "-"}, "empty line"},
		{long, []string{"activate", "-"}, "reading the license code"},
		{"PLTEST0001\n", []string{"activate"}, "'-' to read it from standard input"}, // not a terminal: no prompt
		{"", []string{"activate", "-", "PLTEST0001"}, "want one license code"},
		{"PL 1;x\n", []string{"activate", "-"}, "license code"},
	} {
		code, stdout, stderr, _ := machineCLI(t, "", nil, c.stdin, c.args...)
		if code != exitcode.Usage || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "License code:") {
			t.Errorf("%v with %.20q: exit %d, stdout %q, stderr %q", c.args, c.stdin, code, stdout, stderr)
		}
	}
}
