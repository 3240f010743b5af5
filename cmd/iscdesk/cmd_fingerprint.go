package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
)

func fingerprintCommand() *command {
	return &command{
		name: "fingerprint",
		args: "[--json] [--sysroot DIR] [--verbose]",
		summary: "Print this machine's device fingerprint (MAC|disk|board|CPU) on one line.\n\n" +
			"--sysroot reads sysfs and the udev database below DIR instead of / (Linux), for a\n" +
			"container that mounts the host's /sys and /run/udev there. The CPU id always\n" +
			"comes from the CPU itself.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			asJSON := fs.Bool("json", false, "print a JSON object with the string and its components")
			sysroot := fs.String("sysroot", "", "read file-based sources below `DIR`")
			verbose := fs.Bool("verbose", false, "also print on standard error where each part came from and what could not be read")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("fingerprint: takes no arguments")
				}
				if *sysroot != "" {
					if st, err := os.Stat(*sysroot); err != nil || !st.IsDir() {
						return usageErrorf("fingerprint: --sysroot %s: not a directory", *sysroot)
					}
				}
				ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				f := fingerprint.Collector{Root: *sysroot}.Collect(ctx)
				if *verbose {
					for _, p := range devinfo.Parts {
						if s := f.Sources[p]; s != "" {
							fmt.Fprintf(io.err, "%s: %s\n", p, s)
						}
					}
					for _, p := range f.Problems {
						fmt.Fprintf(io.err, "%s: not read: %v\n", p.Part, p.Err)
					}
					if f.Truncated {
						fmt.Fprintf(io.err, "truncated to %d bytes\n", f.Bytes())
					}
				}
				if *asJSON {
					enc := json.NewEncoder(io.out)
					enc.SetEscapeHTML(false)
					return enc.Encode(f)
				}
				_, err := fmt.Fprintln(io.out, f.String())
				return err
			}
		},
	}
}
