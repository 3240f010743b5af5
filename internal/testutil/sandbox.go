package testutil

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Sandbox is an `iscdesk sandbox` process on loopback.
type Sandbox struct {
	Cmd *exec.Cmd
	URL string
	AK  string
	SK  string
	// CallbackKey is the key the sandbox signs its callbacks with (the
	// vendor server's callback key).
	CallbackKey string
	Codes       map[string][]string // state name ("ready", "undelivered", …) -> codes

	// ServerKey is the sandbox's vendor public key (base64): what a test
	// pins as server_key or ISCDESK_SERVER_KEY, as an administrator would.
	ServerKey string
}

// StartSandbox starts `bin sandbox` on a free loopback port with its state
// in the file state, waits until it printed its URL, keys and codes, and
// stops it when the test ends.
func StartSandbox(tb testing.TB, bin, state string) *Sandbox {
	tb.Helper()
	cmd := exec.Command(bin, "sandbox", "--addr", "127.0.0.1:0", "--state", state)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	sb := &Sandbox{Cmd: cmd, Codes: map[string][]string{}}
	tb.Cleanup(sb.Stop)
	lines := bufio.NewScanner(out)
	deadline := time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for lines.Scan() {
		line := lines.Text()
		switch {
		case strings.HasPrefix(line, "listening on "):
			sb.URL = strings.TrimPrefix(line, "listening on ")
		case strings.HasPrefix(line, "ak: "):
			sb.AK = strings.TrimPrefix(line, "ak: ")
		case strings.HasPrefix(line, "sk: "):
			sb.SK = strings.TrimPrefix(line, "sk: ")
		case strings.HasPrefix(line, "callback_key: "):
			sb.CallbackKey = strings.TrimPrefix(line, "callback_key: ")
		case strings.HasPrefix(line, "server_key: "):
			sb.ServerKey = strings.TrimPrefix(line, "server_key: ")
		case strings.HasPrefix(line, "code: "):
			var code, state string
			f := strings.Fields(strings.TrimPrefix(line, "code: "))
			if len(f) == 2 {
				code, state = f[0], strings.Trim(f[1], "()")
			}
			sb.Codes[state] = append(sb.Codes[state], code)
		}
		if len(sb.Codes["released"]) > 0 {
			break
		}
	}
	if sb.URL == "" || sb.AK == "" || sb.SK == "" || len(sb.Codes["ready"]) == 0 {
		tb.Fatalf("sandbox printed: %+v", sb)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return sb
}

// Stop ends the sandbox (again is fine).
func (s *Sandbox) Stop() {
	if s.Cmd.ProcessState == nil {
		_ = s.Cmd.Process.Kill()
		_ = s.Cmd.Wait()
	}
}

// Keys are the environment variables that point a process of iscdesk at the
// sandbox with its credentials.
func (s *Sandbox) Keys() []string {
	return []string{"ISCDESK_AK=" + s.AK, "ISCDESK_SK=" + s.SK, "ISCDESK_ENDPOINT=" + s.URL}
}
