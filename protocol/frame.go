package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Frame errors. ErrFrameTooLarge and a half-written frame at the end of the
// stream leave the stream unusable: close the connection. ErrBadFrame leaves
// it usable: the next line is the next frame.
var (
	ErrFrameTooLarge = fmt.Errorf("protocol: frame larger than %d bytes", MaxFrameBytes)
	ErrBadFrame      = errors.New("protocol: frame is not a JSON-RPC 2.0 message")
)

// ReadMessage reads one '\n'-terminated frame from r and decodes it. A frame
// cut off by the end of the stream gives io.ErrUnexpectedEOF; a clean end,
// io.EOF.
func ReadMessage(r *bufio.Reader) (Message, error) {
	line, err := readLine(r)
	if err != nil {
		return Message{}, err
	}
	return DecodeMessage(line)
}

// readLine reads up to and excluding '\n', never buffering more than
// MaxFrameBytes.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > MaxFrameBytes {
			return nil, ErrFrameTooLarge
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			if len(line) >= MaxFrameBytes { // no room left for the newline
				return nil, ErrFrameTooLarge
			}
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// DecodeMessage decodes one frame (without its newline). It checks the shape
// of JSON-RPC 2.0: the version, and that a message is a request, a
// notification or a response.
func DecodeMessage(line []byte) (Message, error) {
	line = bytes.TrimSpace(line)
	var m Message
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&m); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	// Token, not More: More does not see a stray "}" after the value.
	if _, err := dec.Token(); err != io.EOF {
		return Message{}, fmt.Errorf("%w: data after the JSON value on a line", ErrBadFrame)
	}
	if m.JSONRPC != "2.0" {
		return Message{}, fmt.Errorf("%w: jsonrpc is %q, want \"2.0\"", ErrBadFrame, m.JSONRPC)
	}
	isResponse := m.Result != nil || m.Error != nil
	// A response has an id, except an error about a frame whose id could not
	// be read (JSON-RPC's "id": null, which this encoding omits).
	if m.Method == "" && (!isResponse || m.ID == nil && m.Error == nil) || m.Method != "" && isResponse {
		return Message{}, fmt.Errorf("%w: neither a request, a notification nor a response", ErrBadFrame)
	}
	return m, nil
}

// WriteMessage encodes m as one frame and writes it with a single Write, so
// that writers serialised by a mutex never interleave frames.
func WriteMessage(w io.Writer, m Message) error {
	m.JSONRPC = "2.0"
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(b)+1 > MaxFrameBytes {
		return ErrFrameTooLarge
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
