package sdk_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
)

// FuzzClient plays a hostile or broken agent to a real client over a real
// socket: the input is what the agent says, in groups separated by a blank
// line, group i sent as the answer to the client's i-th frame (its hello,
// then one call after another: GetLicenseString, Save, CheckNewVersions,
// LicenseVerifyNotify), whatever groups remain after the last. No input may
// panic the client (its reader, its reconnect loop, the calls, the event
// delivery), hang it, or leave a call or a waiter behind. The agent's side
// is fuzzed by protocol's FuzzDecodeMessage and the agent's tests.
func FuzzClient(f *testing.F) {
	const (
		hello    = `{"jsonrpc":"2.0","id":1,"result":{"protocol":1,"agentVersion":"fuzz"}}`
		accepted = `{"jsonrpc":"2.0","id":%d,"result":{"requestId":"r%d"}}`
		event    = `{"jsonrpc":"2.0","method":"event","params":{"operate":"%s","params":{%s},"comeBackParams":{"requestId":"r%d"}}}`
	)
	good := hello + "\n\n" +
		fmt.Sprintf(accepted, 2, 2) + "\n" + fmt.Sprintf(event, protocol.EventLicenseVerify, `"Status":"success","LicenseContent":"x.y.z","LicenseType":"string"`, 2) + "\n\n" +
		fmt.Sprintf(accepted, 3, 3) + "\n" + fmt.Sprintf(event, protocol.EventUploadStart, `"path":"/a"`, 3) + "\n" +
		fmt.Sprintf(event, protocol.EventSaveResult, `"status":"failed","reason":"disk full","kind":"storage"`, 3) + "\n\n" +
		fmt.Sprintf(accepted, 4, 4) + "\n" + fmt.Sprintf(event, protocol.EventUpgradeNotice, `"available":"true","version":"2"`, 4) + "\n\n" +
		`{"jsonrpc":"2.0","id":5,"result":{}}` + "\n" + fmt.Sprintf(event, "Unknown", `"x":"y"`, 9) + "\n"
	for _, s := range []string{
		good,
		// The nil id of finding 4, in the hello and after it.
		`{"jsonrpc":"2.0","error":{"code":-32700,"message":"parse error"}}`,
		hello + "\n\n" + `{"jsonrpc":"2.0","error":{"code":-32700,"message":"x"}}` + "\n" + `{"jsonrpc":"2.0","result":{"requestId":"r2"}}`,
		// Answers to requests never made, twice the same request id, an
		// event before its acceptance, an event of the wrong shape.
		hello + "\n" + fmt.Sprintf(accepted, 99, 1) + "\n" + fmt.Sprintf(event, protocol.EventLicenseVerify, `"Status":"success"`, 2) + "\n\n" +
			fmt.Sprintf(accepted, 2, 2) + "\n" + fmt.Sprintf(accepted, 2, 2) + "\n\n" + fmt.Sprintf(accepted, 3, 2),
		hello + "\n\n" + `{"jsonrpc":"2.0","method":"event","params":{"operate":1,"params":{"status":true}}}`,
		hello + "\n\n" + `{"jsonrpc":"2.0","id":2,"result":null}` + "\n\n" + `{"jsonrpc":"2.0","id":3,"error":{"code":-32001}}`,
		`{"jsonrpc":"2.0","id":1,"result":"hello"}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"old"}}`,
		`{"jsonrpc":"2.0","id":7,"result":{}}`,
		`{"jsonrpc":"2.0","method":"hello","id":1,"params":{}}` + "\n" + hello,
		"HTTP/1.1 400 Bad Request\n", "\x00\xff{", `{"jsonrpc":"2.0","id":1,"result":{"protocol":1}`, "",
	} {
		f.Add([]byte(s))
	}
	dir, err := os.MkdirTemp("", "sdkfuzz") // private (0700), as the client requires
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	n := 0
	f.Fuzz(func(t *testing.T, script []byte) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("%d.sock", n))
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		groups := bytes.Split(script, []byte("\n\n"))
		var served sync.WaitGroup
		served.Add(1)
		go func() {
			defer served.Done()
			first := true
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				if first {
					// Played on the first connection only: once it ends, the
					// agent is gone and the client's redials fail at once.
					first = false
					playAgent(c, groups)
				}
				c.Close()
			}
		}()

		// The script ends with the connection, so the calls end at once;
		// the deadline only bounds a client that would hang.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err := sdk.Connect(ctx, sdk.WithSocketPath(path), sdk.WithBackoff(time.Millisecond, 5*time.Millisecond),
			sdk.WithReconnectWait(0), sdk.WithFrameTimeout(20*time.Millisecond), sdk.WithEventBuffer(4))
		if err == nil {
			c.RegisterEventRecall(func(e protocol.Event) { _ = e.RequestID() + e.Params["status"] })
			events := c.Events()
			_, _ = c.GetLicenseString(ctx, testDevInfo)
			_, _ = c.Save(ctx, "/a", false)
			_, _ = c.CheckNewVersions(ctx)
			_ = c.LicenseVerifyNotify(ctx, true, "")
			for len(events) > 0 {
				<-events
			}
			if pending, waiters := c.Waiting(); pending != 0 || waiters != 0 {
				t.Errorf("after every call returned: %d calls and %d waiters left", pending, waiters)
			}
			closed := make(chan struct{})
			go func() { c.Close(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatal("Close hangs")
			}
		}
		ln.Close()
		served.Wait()
	})
}

// playAgent answers the client's i-th frame with groups[i]; the last frame
// the client sends, or a client that sends none for a while (a call waiting
// for an event the script does not give), gets every group left at once.
// Then it hangs up: it has nothing left to say.
func playAgent(c net.Conn, groups [][]byte) {
	const frames = 5 // hello and the four calls of FuzzClient
	r := bufio.NewReader(c)
	for i := range groups {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		_, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
		if err != nil || i == frames-1 {
			_, _ = c.Write(append(bytes.Join(groups[i:], []byte("\n")), '\n'))
			return
		}
		_, _ = c.Write(append(groups[i], '\n'))
	}
}

// FuzzParseSaveAsPath: whatever a SaveAsPath event says, the client either
// refuses it or gives an absolute path that ends in the file name, inside
// the entry it names.
func FuzzParseSaveAsPath(f *testing.F) {
	f.Add("/cloud/bracket.prt", "bracket.prt", "bracket.prt", "false")
	f.Add("/cloud/gearbox/gearbox.asm", "gearbox", "gearbox.asm", "true")
	f.Add("/etc/passwd", "bracket.prt", "bracket.prt", "false")
	f.Add("/cloud/..", "..", "..", "false")
	f.Add("/cloud/x/..", "x", "..", "true")
	f.Fuzz(func(t *testing.T, path, name, fileName, assembly string) {
		e := protocol.Event{Operate: protocol.EventSaveAsPath, Params: map[string]string{
			protocol.SavePathKey: path, protocol.NameKey: name, protocol.FileNameKey: fileName, protocol.AssemblyKey: assembly}}
		p, err := sdk.ParseSaveAsPath(e)
		if err != nil {
			if !errors.Is(err, sdk.ErrProtocol) || p.Path != "" {
				t.Fatalf("refused with %v, %+v", err, p)
			}
			return
		}
		entry := p.Path
		if p.Assembly {
			entry = filepath.Dir(p.Path)
		}
		if !filepath.IsAbs(p.Path) || filepath.Base(p.Path) != p.FileName || filepath.Base(entry) != p.Name ||
			p.Name == ".." || p.FileName == ".." || p.Name == "." || p.FileName == "." {
			t.Fatalf("accepted %+v", p)
		}
	})
}
