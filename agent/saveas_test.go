package agent_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
)

// saveAsAgent serves an agent with a cloud drive and the SaveAs hook
// choose (nil: none), and connects a client.
func saveAsAgent(t *testing.T, choose func(context.Context, clouddrive.SaveAsRequest) (string, error)) (*clouddrive.LocalFolder, *sdk.Client) {
	t.Helper()
	storage, err := clouddrive.NewLocalFolder(filepath.Join(t.TempDir(), "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	socket := socketIn(t)
	serve(t, agent.New(agent.Config{SocketPath: socket, Storage: storage, SaveAs: choose}))
	return storage, connect(t, socket)
}

// Headless, the suggestion is where the file goes; a Save of a file of that
// name then lands exactly there.
func TestSelectSaveAsPath(t *testing.T) {
	w, c := connected(t, 0)
	ctx := ctxT(t)
	events := c.Events()
	got, err := c.SelectSaveAsPath(ctx, "bracket.prt", sdk.ComeBackParams(map[string]string{"doc": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	cloud := filepath.Join(w.dir, "cloud")
	if got.Path != filepath.Join(cloud, "bracket.prt") || got.Name != "bracket.prt" || got.FileName != "bracket.prt" || got.Assembly {
		t.Fatalf("SelectSaveAsPath = %+v", got)
	}
	e := waitEvent(t, events, protocol.EventSaveAsPath, got.Event.RequestID())
	if len(e.Params) != 4 || e.ComeBackParams["doc"] != "1" {
		t.Fatalf("event %+v: want exactly savePath, name, fileName, assembly and the comeBackParams", e)
	}
	model := filepath.Join(w.dir, "work", got.FileName)
	writeFile(t, model, "part")
	saved, err := c.Save(ctx, model, false)
	if err != nil || saved.Result.Params[protocol.CloudPathKey] != got.Path {
		t.Fatalf("saved to %v (%v), chosen %s", saved.Result.Params, err, got.Path)
	}

	asm, err := c.SelectSaveAsPath(ctx, "gearbox.asm", sdk.SaveAsAssembly())
	if err != nil {
		t.Fatal(err)
	}
	if asm.Path != filepath.Join(cloud, "gearbox", "gearbox.asm") || asm.Name != "gearbox" || !asm.Assembly {
		t.Fatalf("assembly: %+v", asm)
	}
	if e := waitEvent(t, events, protocol.EventSaveAsPath, asm.Event.RequestID()); e.Params[protocol.AssemblyKey] != "true" {
		t.Fatalf("assembly event %+v", e)
	}

	// The saved file is a file: an assembly of its name cannot go there.
	if _, err := c.SelectSaveAsPath(ctx, "bracket.prt.asm", sdk.SaveAsAssembly()); kindOf(err) != "invalid" {
		t.Fatalf("an assembly where a file is: %v (kind %q)", err, kindOf(err))
	}
}

// A hostile or malformed suggestion is refused before anything is asked.
func TestSelectSaveAsPathRefusesBadSuggestions(t *testing.T) {
	asked := 0
	_, c := saveAsAgent(t, func(_ context.Context, req clouddrive.SaveAsRequest) (string, error) {
		asked++
		return req.FileName, nil
	})
	ctx := ctxT(t)
	for _, name := range []string{"", "..", "../../.ssh/authorized_keys", "/etc/passwd", `..\win.ini`, ".hidden", "CON", "a\x00b", "a\nb", "x.", "a:b.prt"} {
		_, err := c.SelectSaveAsPath(ctx, name)
		var rpc *protocol.RPCError
		if !errors.As(err, &rpc) || rpc.Code != protocol.CodeInvalidParams {
			t.Errorf("suggestion %q: %v", name, err)
		}
	}
	if _, err := c.SelectSaveAsPath(ctx, "nul.asm", sdk.SaveAsAssembly()); err == nil {
		t.Error("an assembly folder named like a device was accepted")
	}
	if asked != 0 {
		t.Fatalf("the chooser was asked %d times for refused suggestions", asked)
	}
}

// Whatever the chooser answers is checked too: a name that leaves the
// drive fails as invalid, a cancel as canceled, no chooser as unavailable.
func TestSelectSaveAsPathChecksTheChoice(t *testing.T) {
	ctx := ctxT(t)
	for _, tc := range []struct {
		name   string
		choose func(context.Context, clouddrive.SaveAsRequest) (string, error)
		kind   string
	}{
		{"escapes", func(context.Context, clouddrive.SaveAsRequest) (string, error) { return "../outside.prt", nil }, "invalid"},
		{"absolute", func(context.Context, clouddrive.SaveAsRequest) (string, error) { return "/tmp/x.prt", nil }, "invalid"},
		{"reserved", func(context.Context, clouddrive.SaveAsRequest) (string, error) { return ".versions", nil }, "invalid"},
		{"cancelled", func(context.Context, clouddrive.SaveAsRequest) (string, error) {
			return "", fmt.Errorf("the user closed the chooser: %w", context.Canceled)
		}, "canceled"},
		{"none", nil, "unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storage, c := saveAsAgent(t, tc.choose)
			got, err := c.SelectSaveAsPath(ctx, "bracket.prt")
			if kindOf(err) != tc.kind || got.Path != "" {
				t.Fatalf("SelectSaveAsPath = %+v, %v (kind %q), want kind %s", got, err, kindOf(err), tc.kind)
			}
			if des, _ := os.ReadDir(storage.Root()); len(des) != 0 {
				t.Fatalf("the drive changed: %v", des)
			}
		})
	}
	// The user may rename: the chosen name, not the suggestion, is answered.
	storage, c := saveAsAgent(t, func(context.Context, clouddrive.SaveAsRequest) (string, error) { return "bracket-v2.prt", nil })
	got, err := c.SelectSaveAsPath(ctx, "bracket.prt")
	if err != nil || got.Path != filepath.Join(storage.Root(), "bracket-v2.prt") || got.FileName != "bracket-v2.prt" {
		t.Fatalf("renamed: %+v %v", got, err)
	}
}
