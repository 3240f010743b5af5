package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/iscdesk/iscdesk/licensing/aksk"
)

func credentialsCommand() *command {
	return &command{
		name: "credentials",
		args: "set|clear",
		summary: "Store the marketplace credentials in the OS keyring, or remove them.\n\n" +
			"'set' reads the access key (AK) and then the secret key (SK) as two lines from\n" +
			"standard input, never from the command line:\n" +
			"  printf '%s\\n%s\\n' \"$AK\" \"$SK\" | iscdesk credentials set\n" +
			"ISCDESK_AK and ISCDESK_SK in the environment take precedence over stored ones.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 || (args[0] != "set" && args[0] != "clear") {
					return usageErrorf("credentials: want 'set' or 'clear'")
				}
				if args[0] == "clear" {
					if err := io.wire().ClearCredentials(ctx); err != nil {
						return err
					}
					fmt.Fprintln(io.out, "Marketplace credentials removed from the OS keyring.")
					return nil
				}
				cred, err := readCredentials(io)
				if err != nil {
					return err
				}
				if err := io.wire().StoreCredentials(ctx, cred); err != nil {
					return err
				}
				fmt.Fprintf(io.out, "Marketplace credentials stored in the OS keyring (access key %s).\n", aksk.MaskAK(cred.AK))
				return nil
			}
		},
	}
}

// readCredentials reads AK then SK, one per line, from standard input.
func readCredentials(io *stdio) (aksk.Credentials, error) {
	sc := bufio.NewScanner(io.in)
	sc.Buffer(make([]byte, 4096), 4096)
	var lines []string
	for len(lines) < 2 && sc.Scan() {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	if err := sc.Err(); err != nil {
		return aksk.Credentials{}, usageErrorf("credentials set: reading standard input: %v", err)
	}
	if len(lines) < 2 || lines[0] == "" || lines[1] == "" {
		return aksk.Credentials{}, usageErrorf("credentials set: want the access key and the secret key as two lines on standard input")
	}
	for _, l := range lines {
		if strings.ContainsFunc(l, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return aksk.Credentials{}, usageErrorf("credentials set: a key contains white space or control characters")
		}
	}
	return aksk.Credentials{AK: lines[0], SK: lines[1]}, nil
}
