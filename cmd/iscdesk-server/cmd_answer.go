package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	goio "io"
	"io/fs"
	"os"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/token/offline"
)

// answerJSON is `activations answer --json`.
type answerJSON struct {
	Kind         string `json:"kind"`
	ActivationID string `json:"activation_id"`
	Host         string `json:"host"`
	Freed        bool   `json:"freed,omitempty"`
	Answer       string `json:"answer"`
	AnswerFile   string `json:"answer_file,omitempty"`
	AnswerBytes  int    `json:"answer_bytes"`
}

func activationsAnswerCommand() *command {
	return &command{
		name: "answer",
		args: "FILE [-o OUT] [--json] [--dir DIR] [--db URL]",
		summary: "Answer a request file written by `iscdesk activate --request-file` or `iscdesk\n" +
			"deactivate --request-file` on a machine with no route to this server.\n\n" +
			"An activation takes a seat as online (the marketplace is asked, seats are counted)\n" +
			"and the answer carries its token; a deactivation frees the seat only when the\n" +
			"activation's own device key signed it. Each request is answered once, within\n" +
			"offline_request_days of its writing. The answer goes to OUT (or standard output);\n" +
			"carry it back and run `iscdesk activate --response-file OUT` there.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			ff := addFolderFlags(fs)
			out := fs.String("o", "", "write the answer to `OUT` (default: standard output)")
			asJSON := fs.Bool("json", false, "print a JSON object (the answer text in it)")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usageErrorf("activations answer: one request FILE is needed")
				}
				text, err := readRequestFile(args[0])
				if err != nil {
					return err
				}
				return withUpstream(ctx, ff, io, func(w *wired) error {
					ans, err := w.service.AnswerOffline(ctx, text)
					if err != nil {
						return err
					}
					if *out != "" {
						if err := atomicfile.Write(*out, []byte(ans.Text+"\n"), 0o644); err != nil {
							return errs.E("write answer", errs.Other, err)
						}
					}
					if *asJSON {
						return printJSON(io.out, answerJSON{Kind: ans.Kind, ActivationID: ans.Activation.ID, Host: ans.Activation.Host,
							Freed: ans.Freed, Answer: ans.Text, AnswerFile: *out, AnswerBytes: len(ans.Text)})
					}
					if *out == "" {
						_, err := fmt.Fprintln(io.out, ans.Text)
						return err
					}
					switch {
					case ans.Kind == offline.KindActivate:
						_, err = fmt.Fprintf(io.out, "activated %s for %s; answer written to %s\n", ans.Activation.ID, ans.Activation.Host, *out)
					case ans.Freed:
						_, err = fmt.Fprintf(io.out, "freed the seat of %s (%s); receipt written to %s\n", ans.Activation.ID, ans.Activation.Host, *out)
					default:
						_, err = fmt.Fprintf(io.out, "%s held no seat any more; receipt written to %s\n", ans.Activation.ID, *out)
					}
					return err
				})
			}
		},
	}
}

// readRequestFile reads a request file, refusing one larger than any
// request can be before reading it all.
func readRequestFile(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", usageErrorf("activations answer: %s: no such file", path)
	}
	if err != nil {
		return "", errs.E("read request", errs.Invalid, err)
	}
	defer f.Close()
	buf := make([]byte, offline.MaxTextBytes+1)
	n, err := goio.ReadFull(f, buf)
	if err != nil && err != goio.ErrUnexpectedEOF && err != goio.EOF {
		return "", errs.E("read request", errs.Invalid, err)
	}
	if n > offline.MaxTextBytes {
		return "", errs.Errorf("read request", errs.Invalid, "%s: larger than %d bytes: not a request file", path, offline.MaxTextBytes)
	}
	return string(buf[:n]), nil
}

// withUpstream runs fn on a service that may call the marketplace (an
// activation by file activates the code upstream, as online): the AK/SK are
// required.
func withUpstream(ctx context.Context, f folderFlags, io *stdio, fn func(w *wired) error) error {
	w, err := wire(ctx, f, io, wireOptions{upstream: true})
	if err != nil {
		return err
	}
	defer w.Close()
	return fn(w)
}
