package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/exitcode"
)

// runApp runs the CLI in-process with its records in dir/config.
func runApp(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	io := &stdio{in: strings.NewReader(""), out: &out, err: &errb, getenv: func(string) string { return "" },
		paths: &config.Paths{User: filepath.Join(dir, "config", "config.json")}}
	code = run(context.Background(), append([]string{"app"}, args...), io)
	return code, out.String(), errb.String()
}

func TestAppUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{}, {"bogus"}, {"install"}, {"install", "a.zip", "b.zip"}, {"install", "a.zip", "--json"},
		{"install", "a.zip", "--sha256", "not-hex"}, {"install", "http://example.com/software.zip"},
		{"install", "ftp://example.com/software.zip"}, {"uninstall"}, {"uninstall", "a", "b"},
		{"uninstall", "a", "--dir", "x"}, {"list", "extra"}, {"list", "--sha256", "ab"}, {"list", "--bogus"},
	} {
		code, out, errOut := runApp(t, dir, args...)
		if code != exitcode.Usage || out != "" || !strings.HasPrefix(errOut, "iscdesk: ") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("app %v: code %d, out %q, err %q", args, code, out, errOut)
		}
	}
}

func TestAppListJSONEmpty(t *testing.T) {
	code, out, errOut := runApp(t, t.TempDir(), "list", "--json")
	if code != 0 || errOut != "" || strings.TrimSpace(out) != "[]" {
		t.Errorf("code %d, out %q, err %q", code, out, errOut)
	}
	code, out, _ = runApp(t, t.TempDir(), "list")
	if code != 0 || !strings.Contains(out, "No vendor packages") {
		t.Errorf("code %d, out %q", code, out)
	}
}

// install, list (table and JSON), a failing uninstall, a retry that
// succeeds, uninstalling what is not installed.
func TestAppInstallListUninstall(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test package has shell scripts")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "apps", "acme")
	flag := filepath.Join(dir, "uninstall-may-succeed")
	pkg := filepath.Join(dir, "software.tar.gz")
	writePackage(t, pkg, map[string]string{
		"acme/software.json": `{"name":"acme-cad","version":"2.1.0"}`,
		"acme/install.sh":    "#!/bin/sh\nset -e\nmkdir -p \"$1\"\ncp tool \"$1\"/tool\n",
		"acme/uninstall.sh":  "#!/bin/sh\n[ -e '" + flag + "' ] || { echo not yet >&2; exit 5; }\nrm -f \"$1\"/tool\n",
		"acme/tool":          "#!/bin/sh\necho tool\n",
	})

	code, out, errOut := runApp(t, dir, "install", pkg, "--dir", target)
	if code != 0 || out != "Installed acme-cad 2.1.0 in "+target+".\n" || errOut != "" {
		t.Fatalf("install: code %d, out %q, err %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(target, "tool")); err != nil {
		t.Fatal(err)
	}

	code, out, _ = runApp(t, dir, "list", "--json")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 {
		t.Fatalf("list --json: code %d, out %q", code, out)
	}
	if list[0]["name"] != "acme-cad" || list[0]["version"] != "2.1.0" || list[0]["dir"] != target || list[0]["state"] != "installed" {
		t.Errorf("list --json: %v", list[0])
	}
	if code, out, _ = runApp(t, dir, "list"); code != 0 || !strings.Contains(out, "acme-cad") || !strings.Contains(out, target) {
		t.Errorf("list: code %d, out %q", code, out)
	}

	code, out, errOut = runApp(t, dir, "uninstall", "acme-cad")
	if code != exitcode.Failed || out != "" || !strings.Contains(errOut, "exit status 5") || !strings.Contains(errOut, "again to retry") ||
		strings.Count(errOut, "\n") != 1 {
		t.Errorf("failing uninstall: code %d, out %q, err %q", code, out, errOut)
	}
	code, out, _ = runApp(t, dir, "list", "--json")
	if json.Unmarshal([]byte(out), &list); code != 0 || len(list) != 1 || list[0]["state"] != "uninstall_failed" {
		t.Errorf("after a failed uninstall: %q", out)
	}

	os.WriteFile(flag, nil, 0o600)
	if code, out, errOut = runApp(t, dir, "uninstall", "acme-cad"); code != 0 || out != "Uninstalled acme-cad.\n" {
		t.Errorf("retry: code %d, out %q, err %q", code, out, errOut)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("target folder left: %v", err)
	}
	if code, _, errOut = runApp(t, dir, "uninstall", "acme-cad"); code != exitcode.Refused || !strings.Contains(errOut, "not installed") {
		t.Errorf("uninstall again: code %d, err %q", code, errOut)
	}
	if code, _, errOut = runApp(t, dir, "install", filepath.Join(dir, "missing.zip")); code != exitcode.Refused || strings.Count(errOut, "\n") != 1 {
		t.Errorf("missing package: code %d, err %q", code, errOut)
	}
}

// Every way an install can fail has its exit code: a package that fails a
// check or is no package is refused (7), a failing install script is a
// failed step (8), a server that cannot be reached is unreachable (4).
func TestAppInstallExitCodes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test packages have shell scripts")
	}
	dir := t.TempDir()
	good := map[string]string{
		"acme/software.json": `{"name":"acme-cad","version":"2.1.0"}`,
		"acme/install.sh":    "#!/bin/sh\nexit 0\n",
		"acme/uninstall.sh":  "#!/bin/sh\nexit 0\n",
	}
	pkg := filepath.Join(dir, "software.tar.gz")
	writePackage(t, pkg, good)
	corrupt := filepath.Join(dir, "corrupt.tar.gz")
	b, _ := os.ReadFile(pkg)
	os.WriteFile(corrupt, b[:len(b)/2], 0o644)
	notArchive := filepath.Join(dir, "notes.zip")
	os.WriteFile(notArchive, []byte("not an archive at all"), 0o644)
	unsafe := filepath.Join(dir, "unsafe.tar.gz")
	writePackage(t, unsafe, map[string]string{"acme/install.sh": "#!/bin/sh\n", "acme/../../escape.sh": "#!/bin/sh\n"})
	failing := filepath.Join(dir, "failing.tar.gz")
	writePackage(t, failing, map[string]string{
		"acme/install.sh":   "#!/bin/sh\necho cannot install >&2\nexit 3\n",
		"acme/uninstall.sh": "#!/bin/sh\n",
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/software.tar.gz"
	l.Close()

	for _, c := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"bad checksum", []string{pkg, "--sha256", strings.Repeat("0", 64)}, exitcode.Refused, "SHA-256 mismatch"},
		{"corrupt package", []string{corrupt}, exitcode.Refused, "damaged"},
		{"not an archive", []string{notArchive}, exitcode.Refused, "not a valid vendor package"},
		{"unsafe archive", []string{unsafe}, exitcode.Refused, "unsafe archive"},
		{"failing script", []string{failing}, exitcode.Failed, "exit status 3"},
		{"unreachable", []string{closed}, exitcode.Unreachable, "refused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"install"}, c.args...)
			args = append(args, "--dir", filepath.Join(dir, "apps", "acme"))
			code, out, errOut := runApp(t, dir, args...)
			if code != c.code || out != "" || !strings.HasPrefix(errOut, "iscdesk: app install: ") ||
				!strings.Contains(errOut, c.says) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("code %d (want %d), out %q, err %q", code, c.code, out, errOut)
			}
		})
	}
	if code, out, _ := runApp(t, dir, "list", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("a failed install was recorded: %q", out)
	}
}

// writePackage writes files (path → content; .sh files executable) as a
// tar.gz.
func writePackage(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		mode := int64(0o644)
		if strings.HasSuffix(name, ".sh") || strings.HasSuffix(name, "tool") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
