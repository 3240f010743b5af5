package sdk_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/sdk"
)

// TestProtocolDocInSync: every method, event and error code of protocol.go
// appears in docs/protocol.md, and the example session there is valid frames.
func TestProtocolDocInSync(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "protocol.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 {
			return true
		}
		name := vs.Names[0].Name
		if !strings.HasPrefix(name, "Method") && !strings.HasPrefix(name, "Event") && !strings.HasPrefix(name, "Code") {
			return true
		}
		var want string
		switch v := vs.Values[0].(type) {
		case *ast.BasicLit:
			want = "`" + strings.Trim(v.Value, `"`) + "`"
		case *ast.UnaryExpr: // negative error codes
			want = "-" + v.X.(*ast.BasicLit).Value
		default:
			return true
		}
		checked++
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/protocol.md does not mention %s (%s)", name, want)
		}
		return true
	})
	if checked < 20 {
		t.Errorf("checked only %d constants: has protocol.go changed shape?", checked)
	}
	frames := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if frame, ok := strings.CutPrefix(line, "→ "); ok || strings.HasPrefix(line, "← ") {
			if !ok {
				frame = strings.TrimPrefix(line, "← ")
			}
			frames++
			if _, err := sdk.DecodeMessage([]byte(frame)); err != nil {
				t.Errorf("example frame %s: %v", frame, err)
			}
		}
	}
	if frames == 0 {
		t.Error("no example session in docs/protocol.md")
	}
}
