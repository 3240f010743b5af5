package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/token/offline"
)

// requestJSON is what `activate --request-file` and `deactivate
// --request-file` print with --json (docs/cli.md).
type requestJSON struct {
	Kind         string `json:"kind"` // activate or deactivate
	License      string `json:"license"`
	ActivationID string `json:"activation_id,omitempty"`
	RequestFile  string `json:"request_file"`
	Bytes        int    `json:"bytes"`
	FitsQR       bool   `json:"fits_qr"`
	CreatedAt    string `json:"created_at"`
	ValidUntil   string `json:"valid_until"`
}

// requestValidity is how long the server answers a request by default
// (server.DefaultOfflineRequestTTL; a vendor may configure another).
const requestValidity = 30 * 24 * time.Hour

func requestOut(f licensing.RequestFile, path string) requestJSON {
	return requestJSON{
		Kind: f.Kind, License: f.Code, ActivationID: f.ActivationID, RequestFile: path,
		Bytes: len(f.Text), FitsQR: len(f.Text) <= offline.QRBytes,
		CreatedAt: formatTime(f.CreatedAt), ValidUntil: formatTime(f.CreatedAt.Add(requestValidity)),
	}
}

// writeRequestFile writes a request to path ("-": standard output), one
// line, atomically: a half-written request is never left behind.
func (io *stdio) writeRequestFile(path, text string) error {
	if path == "-" {
		_, err := fmt.Fprintln(io.out, text)
		return err
	}
	if err := atomicfile.Write(path, []byte(text+"\n"), 0o644); err != nil {
		return errs.E("write request", errs.Storage, err)
	}
	return nil
}

// readAnswerFile reads an answer file ("-": standard input), refusing one
// larger than any answer can be.
func (sio *stdio) readAnswerFile(path string) (string, error) {
	r := sio.in
	if path != "-" {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return "", usageErrorf("activate: %s: no such file", path)
		}
		if err != nil {
			return "", errs.E("read answer", errs.Storage, err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, offline.MaxTextBytes+1))
	if err != nil {
		return "", errs.E("read answer", errs.Storage, err)
	}
	if len(b) > offline.MaxTextBytes {
		return "", usageErrorf("activate: %s is larger than %d bytes: not an answer file", path, offline.MaxTextBytes)
	}
	return string(b), nil
}

func printRequest(w io.Writer, f licensing.RequestFile, path string) {
	where := path
	if path == "-" {
		return // the request itself went to standard output
	}
	qr := "it fits a QR code"
	if len(f.Text) > offline.QRBytes {
		qr = fmt.Sprintf("too large for one QR code (%d bytes at most)", offline.QRBytes)
	}
	switch f.Kind {
	case offline.KindActivate:
		fmt.Fprintf(w, "Wrote the activation request for %s to %s (%d bytes; %s).\n"+
			"Take it to a machine that reaches the vendor, get the answer (the vendor runs\n"+
			"'iscdesk-server activations answer %s -o ANSWER', or its portal answers it), bring\n"+
			"the answer back and run 'iscdesk activate --response-file ANSWER'. The request is\n"+
			"answered once, within 30 days.\n", f.Code, where, len(f.Text), qr, where)
	default:
		fmt.Fprintf(w, "Wrote the deactivation request for %s to %s (%d bytes; %s), and removed the\n"+
			"activation here. The seat is freed when the vendor answers the request\n"+
			"('iscdesk-server activations answer %s', or its portal), within 30 days.\n", f.Code, where, len(f.Text), qr, where)
	}
}
