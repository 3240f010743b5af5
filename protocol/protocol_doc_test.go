package protocol_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/protocol"
)

// protocolDoc is the description of the protocol for programs in other
// languages.
const protocolDoc = "../docs/protocol.md"

// TestProtocolDocInSync: every method, event and error code of protocol.go
// appears in the protocol's description, and the example session there is
// valid frames.
func TestProtocolDocInSync(t *testing.T) {
	doc, err := os.ReadFile(protocolDoc)
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
			t.Errorf("%s does not mention %s (%s)", protocolDoc, name, want)
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
			if _, err := protocol.DecodeMessage([]byte(frame)); err != nil {
				t.Errorf("example frame %s: %v", frame, err)
			}
		}
	}
	if frames == 0 {
		t.Errorf("no example session in %s", protocolDoc)
	}
}
