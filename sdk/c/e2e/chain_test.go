package e2e_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"github.com/iscdesk/iscdesk/server"
)

// chain is what a vendor's program meets on a user's machine: the desktop
// client's agent (`iscdesk agent`, a process), activated with the vendor
// license server (in the test's process, asking a marketplace sandbox),
// with a cloud drive (a local folder), a solver command, and a newer
// release of the program ("ctest" 2.0.0) published by the server.
type chain struct {
	bin    string
	env    []string
	home   string
	work   string // part.prt, bad.prt
	socket string
	key    string // the vendor's public key, base64
	dev    string // what `iscdesk fingerprint` prints
	agent  *exec.Cmd
}

// solverScript solves by copying the model into the result folder; a
// model whose name holds "bad" fails with exit code 3.
const solverScript = `#!/bin/sh
case "$1" in *bad*) echo "cannot solve $1"; exit 3;; esac
cp "$1" "$2/" && echo solved
`

func startChain(t *testing.T) *chain {
	t.Helper()
	return startChainWith(t, server.Config{}, 1)
}

// startChainWith is startChain with the server's policy cfg, activated on
// a code of seats seats.
func startChainWith(t *testing.T, cfg server.Config, seats float64) *chain {
	t.Helper()
	pkg := []byte("ctest 2.0.0 package")
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(pkg) }))
	t.Cleanup(files.Close)
	sum := sha256.Sum256(pkg)
	srv := vendortest.Start(t, vendortest.Options{Config: cfg, Apps: map[string]server.Release{
		"ctest": {Version: "2.0.0", URL: files.URL + "/ctest-2.0.0.tgz", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(pkg))},
	}})
	c := &chain{bin: testutil.Binary(t, "./cmd/iscdesk", testutil.Build{Env: []string{"CGO_ENABLED=0"}}), key: srv.Key}
	c.env, c.home = testutil.ProcessEnv(t)
	c.env = testutil.With(c.env, srv.Env()...)

	solver := filepath.Join(c.home, "solve.sh")
	writeFile(t, solver, solverScript, 0o755)
	conf, _ := json.Marshal(map[string]any{"solver_command": []string{solver, "{input}", "{output}"}})
	writeFile(t, filepath.Join(c.home, ".config", "iscdesk", "config.json"), string(conf), 0o644)
	c.work = filepath.Join(c.home, "work")
	writeFile(t, filepath.Join(c.work, "part.prt"), "a part", 0o644)
	writeFile(t, filepath.Join(c.work, "bad.prt"), "a part the solver fails on", 0o644)

	c.dev = strings.TrimSpace(testutil.Run(t, c.bin, c.env, "fingerprint").Stdout)
	if r := testutil.Run(t, c.bin, c.env, "activate", srv.Code(t, seats)); r.Code != 0 {
		t.Fatalf("activate: %s", r.Stderr)
	}
	sockDir, err := os.MkdirTemp("", "isc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	c.socket = filepath.Join(sockDir, "a", "agent.sock")
	c.startAgent(t)
	t.Cleanup(c.stopAgent)
	return c
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// startAgent starts `iscdesk agent`, answering OpenCloudFile with the
// cloud drive's part.prt, and waits until it listens.
func (c *chain) startAgent(t *testing.T) {
	t.Helper()
	cmd := exec.Command(c.bin, "agent", "--socket", c.socket, "--open", "part.prt")
	cmd.Env = c.env
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.agent = cmd
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "agent listening on ") {
		c.stopAgent()
		t.Fatalf("agent printed %q, %v", line, err)
	}
}

func (c *chain) stopAgent() {
	if c.agent != nil {
		_ = c.agent.Process.Kill()
		_ = c.agent.Wait()
		c.agent = nil
	}
}

// restartAgent stops the agent and starts it again on the same socket, as
// the desktop client restarting does.
func (c *chain) restartAgent(t *testing.T) {
	t.Helper()
	c.stopAgent()
	time.Sleep(100 * time.Millisecond)
	c.startAgent(t)
}

// publishedEvent checks that line is an event in the published shape:
// exactly operate, params and comeBackParams, every value a string, and
// the request id in comeBackParams.
func publishedEvent(t *testing.T, line string) map[string]any {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &raw); err != nil {
		t.Fatalf("event is not a JSON object: %v\n%s", err, line)
	}
	if len(raw) != 3 || raw["operate"] == nil || raw["params"] == nil || raw["comeBackParams"] == nil {
		t.Fatalf("event has not exactly operate, params, comeBackParams: %s", line)
	}
	var e struct {
		Operate        string            `json:"operate"`
		Params         map[string]string `json:"params"`
		ComeBackParams map[string]string `json:"comeBackParams"`
	}
	if err := json.Unmarshal([]byte(line), &e); err != nil || e.Params == nil || e.ComeBackParams == nil {
		t.Fatalf("event params are not objects of strings: %v\n%s", err, line)
	}
	if e.ComeBackParams["requestId"] == "" {
		t.Errorf("event without comeBackParams.requestId: %s", line)
	}
	return map[string]any{"operate": e.Operate, "params": e.Params}
}

// runProgram runs a C, C++ or Python program against the chain, restarts
// the agent when it prints "restart", checks every "event" line it prints,
// and returns its output and the operates of the events it printed.
func (c *chain) runProgram(t *testing.T, name string, cmd *exec.Cmd) (string, map[string]int) {
	t.Helper()
	out, operates, stderr, err := c.run(t, cmd)
	if err != nil || strings.Contains(out, "FAIL") {
		t.Fatalf("%s: %v\n%s\nstderr:\n%s", name, err, out, stderr)
	}
	return out, operates
}

// run is runProgram giving the program's error and standard error.
func (c *chain) run(t *testing.T, cmd *exec.Cmd) (out string, operates map[string]int, stderr string, err error) {
	t.Helper()
	cmd.Env = testutil.With(c.env, "ISCDESK_AGENT_SOCKET="+c.socket)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(3*time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	var output strings.Builder
	operates = map[string]int{}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		output.WriteString(line + "\n")
		switch {
		case line == "restart":
			c.restartAgent(t)
			if _, err := stdin.Write([]byte("go\n")); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(line, "event "), strings.HasPrefix(line, "event: "):
			e := publishedEvent(t, strings.TrimPrefix(strings.TrimPrefix(line, "event"), ":")[1:])
			operates[e["operate"].(string)]++
		}
	}
	err = cmd.Wait()
	return output.String(), operates, errb.String(), err
}
