package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/licensing"
)

func activateCommand() *command {
	return &command{
		name: "activate",
		args: "[--server URL] [--json] [CODE | -]\n  or: iscdesk activate --request-file FILE [--json] [CODE | -]\n  or: iscdesk activate --response-file FILE [--json]",
		summary: "Activate a license code with the vendor's license server and cache the signed\n" +
			"activation token.\n\n" +
			"The code comes from standard input with '-' (one line), or from a prompt when no\n" +
			"CODE is given and standard input is a terminal: other users of this machine see\n" +
			"the arguments of running programs, so prefer these to the command line.\n" +
			"The server binds one of the code's seats to this machine; activating again here\n" +
			"gets the same seat back. When every seat is held the command exits 3 naming the\n" +
			"machines that hold them. The token must be signed by the pinned server_key.\n\n" +
			"A machine with no route to the server activates by file: --request-file writes\n" +
			"a request (the code, this machine's fingerprint and a new device key, signed by\n" +
			"it; '-' prints it) to carry to the vendor; --response-file installs the answer\n" +
			"('-' reads standard input) after checking it like an online answer.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			server := fs.String("server", "", "the license server's base `URL` (default: configured); refused when the machine-wide file sets another")
			asJSON := fs.Bool("json", false, "print the result as a JSON object")
			requestFile := fs.String("request-file", "", "write an air-gapped activation request to `FILE` instead of calling the server")
			responseFile := fs.String("response-file", "", "install the answer in `FILE` to this machine's activation request")
			return func(ctx context.Context, args []string) error {
				if len(args) > 1 {
					return usageErrorf("activate: want one license code, got %d arguments", len(args))
				}
				switch {
				case *requestFile != "" && *responseFile != "":
					return usageErrorf("activate: --request-file and --response-file are two steps: give one")
				case (*requestFile != "" || *responseFile != "") && *server != "":
					return usageErrorf("activate: --server does not go with a request or answer file")
				case *responseFile != "" && len(args) > 0:
					return usageErrorf("activate: --response-file takes no license code (the request named it)")
				case *responseFile != "":
					return io.installResponse(ctx, *responseFile, *asJSON)
				}
				fail := func(code string, err error) error {
					if *asJSON {
						_ = printJSON(io.out, stateJSON(licensing.State{}, code, err))
					}
					return err
				}
				// Before the prompt: a refused flag needs no code typed.
				if *server != "" {
					if err := io.checkOverride("server", "--server", *server); err != nil {
						given := ""
						if len(args) == 1 && args[0] != "-" {
							given = args[0]
						}
						return fail(given, err)
					}
				}
				raw, err := io.licenseCode(args)
				if err != nil {
					return err
				}
				code, err := licensing.NormalizeCode(raw)
				if err != nil {
					return fail(raw, err)
				}
				if *server != "" {
					if err := (config.Config{Server: *server}).Validate(); err != nil {
						return fail(raw, err)
					}
				}
				if *requestFile != "" {
					f, err := io.wire().Licenses().RequestActivation(ctx, code)
					if err != nil {
						return fail(raw, err)
					}
					if err := io.writeRequestFile(*requestFile, f.Text); err != nil {
						return err
					}
					if *asJSON && *requestFile != "-" {
						return printJSON(io.out, requestOut(f, *requestFile))
					}
					printRequest(io.out, f, *requestFile)
					return nil
				}
				st, err := io.wire().Licenses().ActivateAt(ctx, *server, code)
				if err != nil {
					return fail(raw, err)
				}
				if *asJSON {
					return printJSON(io.out, stateJSON(st, code, nil))
				}
				printState(io.out, st, time.Now())
				return nil
			}
		},
	}
}

// maxCodeLine bounds the line read for a license code: codes are at most
// 64 characters, and a longer line is refused by the format check anyway.
const maxCodeLine = 4 << 10

// licenseCode returns the license code of the command line: the argument
// itself, or with "-" one line of standard input; without an argument, a
// line typed at a prompt on standard error when standard input is a
// terminal. Not a password, so the code is echoed as typed.
func (io *stdio) licenseCode(args []string) (string, error) {
	switch {
	case len(args) == 1 && args[0] != "-":
		return args[0], nil
	case len(args) == 1:
		return io.readCodeLine("standard input")
	case isTerminal(io.in):
		fmt.Fprint(io.err, "License code: ")
		return io.readCodeLine("the terminal")
	}
	return "", usageErrorf("activate: want a license code: CODE, or '-' to read it from standard input")
}

func (io *stdio) readCodeLine(from string) (string, error) {
	sc := bufio.NewScanner(io.in)
	sc.Buffer(make([]byte, 256), maxCodeLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return "", usageErrorf("activate: reading the license code from %s: %v", from, err)
		}
		return "", usageErrorf("activate: no license code on %s", from)
	}
	code := strings.TrimSpace(sc.Text())
	if code == "" {
		return "", usageErrorf("activate: an empty line on %s: want the license code", from)
	}
	return code, nil
}

// installResponse is `activate --response-file FILE`.
func (io *stdio) installResponse(ctx context.Context, path string, asJSON bool) error {
	text, err := io.readAnswerFile(path)
	if err != nil {
		return err
	}
	st, err := io.wire().Licenses().InstallResponse(ctx, text)
	if asJSON {
		if perr := printJSON(io.out, stateJSON(st, "", err)); err == nil {
			err = perr
		}
		return err
	}
	if err != nil {
		return err
	}
	printState(io.out, st, time.Now())
	return nil
}
