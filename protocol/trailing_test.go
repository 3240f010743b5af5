package protocol_test

import (
	"errors"
	"testing"

	"github.com/iscdesk/iscdesk/protocol"
)

// A frame with anything after its JSON value is refused, a stray closing
// brace too (a decoder's More does not see one).
func TestDecodeMessageRefusesTrailingData(t *testing.T) {
	for _, line := range []string{
		`{"jsonrpc":"2.0","method":"hello","id":1}}`,
		`{"jsonrpc":"2.0","method":"hello","id":1}]`,
		`{"jsonrpc":"2.0","method":"hello","id":1} {}`,
		`{"jsonrpc":"2.0","method":"hello","id":1} 1`,
	} {
		if _, err := protocol.DecodeMessage([]byte(line)); !errors.Is(err, protocol.ErrBadFrame) {
			t.Errorf("%s: err = %v, want ErrBadFrame", line, err)
		}
	}
	if _, err := protocol.DecodeMessage([]byte(` {"jsonrpc":"2.0","method":"hello","id":1} `)); err != nil {
		t.Errorf("white space around a frame: %v", err)
	}
}
