package protocol_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/protocol"
)

func TestReadMessage(t *testing.T) {
	// big is a frame of exactly MaxFrameBytes with its newline.
	const prefix, suffix = `{"jsonrpc":"2.0","method":"event","params":"`, `"}`
	big := prefix + strings.Repeat("x", protocol.MaxFrameBytes-1-len(prefix)-len(suffix)) + suffix
	cases := []struct {
		name  string
		in    string
		want  string // "request", "notification", "response"
		err   error
		after string // the method of the next frame, when the stream stays usable
	}{
		{name: "request", in: `{"jsonrpc":"2.0","id":1,"method":"hello","params":{"protocol":1}}` + "\n", want: "request"},
		{name: "notification", in: `{"jsonrpc":"2.0","method":"event","params":{}}` + "\n", want: "notification"},
		{name: "result", in: `{"jsonrpc":"2.0","id":7,"result":{"requestId":"r1"}}` + "\n", want: "response"},
		{name: "null result", in: `{"jsonrpc":"2.0","id":7,"result":null}` + "\n", want: "response"},
		{name: "error", in: `{"jsonrpc":"2.0","id":7,"error":{"code":-32001,"message":"no"}}` + "\n", want: "response"},
		{name: "CRLF and spaces", in: "  {\"jsonrpc\":\"2.0\",\"method\":\"event\"} \r\n", want: "notification"},
		{name: "exactly the cap", in: big + "\n", want: "notification"},
		{name: "garbage", in: "hello\n" + `{"jsonrpc":"2.0","method":"next"}` + "\n", err: protocol.ErrBadFrame, after: "next"},
		{name: "empty line", in: "\n", err: protocol.ErrBadFrame},
		{name: "wrong version", in: `{"jsonrpc":"1.0","method":"x"}` + "\n", err: protocol.ErrBadFrame},
		{name: "no version", in: `{"id":1,"method":"x"}` + "\n", err: protocol.ErrBadFrame},
		{name: "two values", in: `{"jsonrpc":"2.0","method":"x"} {}` + "\n", err: protocol.ErrBadFrame},
		{name: "response without id", in: `{"jsonrpc":"2.0","result":{}}` + "\n", err: protocol.ErrBadFrame},
		{name: "method and result", in: `{"jsonrpc":"2.0","id":1,"method":"x","result":{}}` + "\n", err: protocol.ErrBadFrame},
		{name: "neither", in: `{"jsonrpc":"2.0","id":1}` + "\n", err: protocol.ErrBadFrame},
		{name: "array", in: `[{"jsonrpc":"2.0","method":"x"}]` + "\n", err: protocol.ErrBadFrame},
		{name: "one over the cap", in: big + " \n", err: protocol.ErrFrameTooLarge},
		{name: "half-written", in: `{"jsonrpc":"2.0","id":`, err: io.ErrUnexpectedEOF},
		{name: "clean end", in: "", err: io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tc.in))
			m, err := protocol.ReadMessage(r)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if tc.after != "" {
					if next, err := protocol.ReadMessage(r); err != nil || next.Method != tc.after {
						t.Fatalf("next frame = %+v, %v; want method %q", next, err, tc.after)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := kind(m); got != tc.want {
				t.Errorf("kind = %s, want %s", got, tc.want)
			}
		})
	}
}

func kind(m protocol.Message) string {
	switch {
	case m.Method != "" && m.ID != nil:
		return "request"
	case m.Method != "":
		return "notification"
	}
	return "response"
}

// endless is a stream without a newline that counts what was read from it.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	e.n += len(p)
	return len(p), nil
}

// TestOversizedLineIsNotBuffered: a line without end is rejected once it
// passes the cap, having read (and so buffered) at most the cap plus one
// read of the bufio.Reader.
func TestOversizedLineIsNotBuffered(t *testing.T) {
	src := &endless{}
	r := bufio.NewReaderSize(src, 4096)
	_, err := protocol.ReadMessage(r)
	if !errors.Is(err, protocol.ErrFrameTooLarge) {
		t.Fatalf("err = %v, want ErrFrameTooLarge", err)
	}
	if limit := protocol.MaxFrameBytes + 4096; src.n > limit {
		t.Errorf("read %d bytes from an endless line, more than %d", src.n, limit)
	}
}

func TestWriteMessage(t *testing.T) {
	var buf bytes.Buffer
	id := uint64(3)
	if err := protocol.WriteMessage(&buf, protocol.Message{ID: &id, Method: protocol.MethodSave, Params: []byte(`{"path":"/a"}`)}); err != nil {
		t.Fatal(err)
	}
	if want := `{"jsonrpc":"2.0","id":3,"method":"save","params":{"path":"/a"}}` + "\n"; buf.String() != want {
		t.Errorf("frame = %q, want %q", buf.String(), want)
	}
	huge := []byte(`"` + strings.Repeat("x", protocol.MaxFrameBytes) + `"`)
	if err := protocol.WriteMessage(io.Discard, protocol.Message{Method: "x", Params: huge}); !errors.Is(err, protocol.ErrFrameTooLarge) {
		t.Errorf("oversized write: %v, want ErrFrameTooLarge", err)
	}
}

// FuzzDecodeMessage: no input makes the frame reader panic, and whatever it
// accepts is a well-formed message that survives a write and a read.
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"hello","params":{"protocol":1,"app":"cad"}}`,
		`{"jsonrpc":"2.0","method":"event","params":{"operate":"SaveResult","params":{"status":"success"},"comeBackParams":{}}}`,
		`{"jsonrpc":"2.0","id":18446744073709551615,"result":{"requestId":"r1"}}`,
		`{"jsonrpc":"2.0","id":2,"error":{"code":-32001,"message":"no"}}`,
		`{"jsonrpc":"2.0","id":-1,"result":1}`,
		`{"jsonrpc":"2.0","id":1.5,"method":"x"}`,
		"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}",
		`null`, `[]`, `{}`, "", "\n\n", `{"jsonrpc":"2.0"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := protocol.DecodeMessage(b)
		if err == nil {
			if m.JSONRPC != "2.0" {
				t.Fatalf("accepted jsonrpc %q", m.JSONRPC)
			}
			var buf bytes.Buffer
			if err := protocol.WriteMessage(&buf, m); err != nil {
				if errors.Is(err, protocol.ErrFrameTooLarge) {
					return
				}
				t.Fatalf("re-encoding an accepted message: %v", err)
			}
			again, err := protocol.ReadMessage(bufio.NewReader(&buf))
			if err != nil {
				t.Fatalf("re-reading %q: %v", buf.String(), err)
			}
			if kind(again) != kind(m) || again.Method != m.Method {
				t.Fatalf("round trip changed the message: %+v → %+v", m, again)
			}
		}
		// The same bytes as a stream: several lines, maybe no final newline.
		r := bufio.NewReader(bytes.NewReader(b))
		for range 64 {
			if _, err := protocol.ReadMessage(r); err != nil && !errors.Is(err, protocol.ErrBadFrame) {
				break
			}
		}
	})
}

// A line that reaches the cap without its newline is refused as soon as the
// cap is reached, without waiting for the sender to finish or close.
func TestReadMessageRefusesAtTheCap(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write(make([]byte, protocol.MaxFrameBytes)) }() // and then nothing: the pipe stays open
	done := make(chan error, 1)
	go func() {
		_, err := protocol.ReadMessage(bufio.NewReader(pr))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, protocol.ErrFrameTooLarge) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadMessage waits for more data past the cap")
	}
}
