package sdk_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
)

// TestOtherUserFakeAgent is the process of another local user in
// TestRefusesAnotherUsersAgent: it poses as the agent at
// $ISCDESK_FAKE_AGENT (first creating the socket's folder when
// $ISCDESK_FAKE_AGENT_SQUAT is set), answers hello as an agent would, and
// reports on standard output every line a program sends it, until its
// standard input closes.
func TestOtherUserFakeAgent(t *testing.T) {
	socket := testutil.OtherUserEnv(t, "ISCDESK_FAKE_AGENT")
	if os.Getenv("ISCDESK_FAKE_AGENT_SQUAT") != "" {
		if err := os.Mkdir(filepath.Dir(socket), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := os.Chmod(socket, 0o777); err != nil {
		t.Fatal(err)
	}
	fmt.Println("listening")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if line != "" {
						fmt.Printf("received: %s", line)
					}
					if err != nil {
						return
					}
					var m protocol.Message
					if json.Unmarshal([]byte(line), &m) == nil && m.Method == protocol.MethodHello && m.ID != nil {
						res, _ := json.Marshal(protocol.HelloResult{Protocol: protocol.Version, AgentVersion: "impostor"})
						_ = protocol.WriteMessage(c, protocol.Message{ID: m.ID, Result: res})
					}
				}
			}()
		}
	}()
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// Another local user (nobody) poses as the agent: in a folder it created
// where the agent's would be, or, past the folder, with a listener of its
// own. The program must refuse the socket before it sends anything, not
// even its hello (issue 11, finding 3).
func TestRefusesAnotherUsersAgent(t *testing.T) {
	for _, tc := range []struct {
		name  string
		squat bool // the other user creates the socket's folder
	}{
		{"the other user's folder", true},
		{"the other user's listener in this user's private folder", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// base stands for a shared temporary folder such as /tmp.
			base, err := os.MkdirTemp("", "sdksquat")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(base) })
			if err := os.Chmod(base, 0o1777); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(base, "iscdesk")
			env := []string{"ISCDESK_FAKE_AGENT=" + filepath.Join(dir, "agent.sock")}
			if tc.squat {
				env = append(env, "ISCDESK_FAKE_AGENT_SQUAT=1")
			} else if err := os.Mkdir(dir, 0o700); err != nil || os.Chmod(dir, 0o777) != nil {
				t.Fatal("the folder the other user may bind in:", err)
			}
			cmd := testutil.AsOtherUser(t, "TestOtherUserFakeAgent", env...)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			out := bufio.NewReader(stdout)
			if line, err := out.ReadString('\n'); line != "listening\n" {
				stdin.Close()
				rest, _ := io.ReadAll(out)
				_ = cmd.Wait()
				t.Fatalf("the other user's fake agent did not start: %q %v\n%s", line, err, rest)
			}
			if !tc.squat {
				// Private again: only the listener's credentials can tell.
				if err := os.Chmod(dir, 0o700); err != nil {
					t.Fatal(err)
				}
			}

			c, err := sdk.Connect(testCtx(t), sdk.WithSocketPath(filepath.Join(dir, "agent.sock")), sdk.WithApp("victim-cad", "1.0"))
			if err == nil {
				c.Close()
			}
			stdin.Close()
			rest, _ := io.ReadAll(out)
			if werr := cmd.Wait(); werr != nil {
				t.Errorf("the other user's fake agent: %v\n%s", werr, rest)
			}
			if err == nil {
				t.Fatalf("Connect succeeded: the program talks to another user's fake agent (it received %q)", rest)
			}
			if !errors.Is(err, sdk.ErrNotPrivate) {
				t.Errorf("err = %v, want ErrNotPrivate", err)
			}
			if strings.Contains(string(rest), "received") {
				t.Errorf("the program sent the other user's fake agent: %q", rest)
			}
			t.Log(err)
		})
	}
}
