package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
)

// sandboxFlags are the flags of `iscdesk sandbox` and its actions; each
// action accepts only its own (sandboxActions).
type sandboxFlags struct {
	addr, state, vendorURL                 *string
	asJSON, unsubscribe, cancel            *bool
	expire, at, fingerprint, event, effect *string
	testFlag                               *string
}

// sandboxActions lists the admin actions, their arguments and their flags
// (addr and state apply to all).
var sandboxActions = map[string]struct {
	args  int
	usage string
	flags []string
}{
	"refresh":      {1, "refresh CODE --expire TIME [--unsubscribe]", []string{"expire", "unsubscribe", "json"}},
	"release":      {1, "release CODE [--at TIME | --cancel]", []string{"at", "cancel", "json"}},
	"renew":        {2, "renew CODE on|off", nil},
	"license":      {1, "license INSTANCE [--fingerprint FP] [--event ID] [--effective TIME] [--expire TIME] [--test-flag 0|1]", []string{"fingerprint", "event", "effective", "expire", "test-flag", "json"}},
	"callbacks":    {0, "callbacks [--json]", []string{"json"}},
	"uploads":      {0, "uploads [--event ID] [--json]", []string{"event", "json"}},
	"delivered":    {1, "delivered EVENT", nil},
	"fail-uploads": {1, "fail-uploads N", nil},
	"vendor-url":   {1, "vendor-url URL", nil},
}

func sandboxCommand() *command {
	return &command{
		name: "sandbox",
		args: "[--addr HOST:PORT] [--state FILE] [--vendor-url URL] | ACTION … (see below)",
		summary: "Run the local marketplace sandbox (loopback only) until interrupted, or act on a running one.\n\n" +
			"It speaks the marketplace license API (activate, query, usage report) with AK/SK\n" +
			"signatures, and keeps its credentials and demo license codes in the state file,\n" +
			"created on first start. It prints 'listening on http://HOST:PORT', then 'ak:',\n" +
			"'sk:' and 'callback_key:' lines, then one 'code: PL… (state)' line per demo code.\n\n" +
			"It plays the marketplace's side of callbacks: it sends signed refreshLicenseCode,\n" +
			"releaseLicenseCode and getLicenseAsync calls to the vendor URL (--vendor-url, kept\n" +
			"in the state), queued in the state file and retried as the marketplace does, and\n" +
			"accepts the vendor's uploads of asynchronous licenses.\n\n" +
			"Actions on the running sandbox at --addr (authorized by the state file's admin\n" +
			"token; TIME is yyyyMMddHHmmss, UTC):\n" +
			"  refresh CODE --expire TIME [--unsubscribe]  renew (or unsubscribe) to a new expiry\n" +
			"  release CODE [--at TIME | --cancel]          release now, at TIME, or cancel that\n" +
			"  renew CODE on|off                            renew automatically at each term end\n" +
			"  license INSTANCE [--fingerprint FP] [--event ID] [--effective TIME] [--expire TIME]\n" +
			"          [--test-flag 0|1]                    send getLicenseAsync (prints the event id)\n" +
			"  callbacks [--json]                           the callbacks queued and sent\n" +
			"  uploads [--event ID] [--json]                the uploads received\n" +
			"  delivered EVENT                              print what the last accepted upload delivered\n" +
			"  fail-uploads N                               answer the next N uploads 500 CBC.0999\n" +
			"  vendor-url URL                               send callbacks to URL\n\n" +
			"Exit codes: 2 bad argument, 3 no such code, not activated or released, 4 sandbox not\n" +
			"running, 5 wrong admin token, 7 nothing by that name, 8 the vendor refused the\n" +
			"callback (0009xx, 000002, 000003) or it was given up.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			f := sandboxFlags{
				addr:        fs.String("addr", sandbox.DefaultAddr, "listen on (or, for an action, reach the sandbox at) `HOST:PORT` (loopback; port 0 picks one)"),
				state:       fs.String("state", "", "the sandbox state `FILE` (default: sandbox.json in the user's iscdesk config folder)"),
				vendorURL:   fs.String("vendor-url", "", "send callbacks to `URL` (kept in the state)"),
				asJSON:      fs.Bool("json", false, "print JSON"),
				unsubscribe: fs.Bool("unsubscribe", false, "refresh: scene UNSUBSCRIBE_RENEWAL_PERIOD instead of RENEWAL"),
				cancel:      fs.Bool("cancel", false, "release: cancel a scheduled release"),
				expire:      fs.String("expire", "", "refresh, license: the new expiry `TIME` (yyyyMMddHHmmss, UTC)"),
				at:          fs.String("at", "", "release: release at `TIME` (yyyyMMddHHmmss, UTC)"),
				fingerprint: fs.String("fingerprint", "", "license: the device fingerprint `FP` (MAC|disk|board|CPU)"),
				event:       fs.String("event", "", "license: the event `ID` (default: a fresh one); uploads: only this event's"),
				effect:      fs.String("effective", "", "license: start of validity `TIME` (default: now)"),
				testFlag:    fs.String("test-flag", "", "license: testFlag `0|1`"),
			}
			return func(ctx context.Context, args []string) error {
				path := *f.state
				if path == "" {
					path = filepath.Join(io.wire().DataDir(), "sandbox.json")
				}
				set := map[string]bool{}
				fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
				if len(args) == 0 {
					for name := range set {
						if name != "addr" && name != "state" && name != "vendor-url" {
							return usageErrorf("sandbox: --%s applies to an action (see 'iscdesk sandbox --help')", name)
						}
					}
					return sandboxServe(ctx, io, path, *f.addr, *f.vendorURL)
				}
				act, ok := sandboxActions[args[0]]
				if !ok {
					return usageErrorf("sandbox: unknown action %q (see 'iscdesk sandbox --help')", args[0])
				}
				for name := range set {
					if name != "addr" && name != "state" && !slices.Contains(act.flags, name) {
						return usageErrorf("sandbox %s: --%s does not apply (see 'iscdesk sandbox --help')", args[0], name)
					}
				}
				if len(args)-1 != act.args {
					return usageErrorf("sandbox: usage: iscdesk sandbox %s", act.usage)
				}
				a, err := sandboxAdmin(path, *f.addr)
				if err != nil {
					return err
				}
				return sandboxAction(ctx, io, a, f, args[0], args[1:])
			}
		},
	}
}

func sandboxServe(ctx context.Context, io *stdio, path, addr, vendorURL string) error {
	srv, err := sandbox.Open(path)
	if err != nil {
		return err
	}
	if vendorURL != "" {
		if err := srv.SetVendorURL(vendorURL); err != nil {
			return usageErrorf("sandbox: --vendor-url: %v", err)
		}
	}
	var printErr error
	err = srv.ListenAndServe(ctx, addr, func(url string) {
		printErr = srv.Print(io.out, url)
		if f, ok := io.out.(interface{ Sync() error }); ok {
			_ = f.Sync()
		}
	})
	if errors.Is(err, sandbox.ErrNotLoopback) {
		return usageErrorf("%v", err)
	}
	if err != nil {
		return err
	}
	return printErr
}

// sandboxAdmin reaches the sandbox running at addr with the admin token of
// its state file (read from the file: never from argv or the environment).
func sandboxAdmin(path, addr string) (*sandbox.Admin, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" {
		return nil, usageErrorf("sandbox: --addr must be the running sandbox's HOST:PORT")
	}
	return sandbox.AdminFor(path, "http://"+addr)
}

func sandboxAction(ctx context.Context, io *stdio, a *sandbox.Admin, f sandboxFlags, action string, args []string) error {
	var sent sandbox.AdminSent
	switch action {
	case "refresh":
		scene := callback.SceneRenewal
		if *f.unsubscribe {
			scene = callback.SceneUnsubscribe
		}
		if *f.expire == "" {
			return usageErrorf("sandbox refresh: --expire TIME is required")
		}
		if err := a.Call(ctx, action, sandbox.AdminRefresh{License: args[0], Scene: scene, ExpireTime: *f.expire}, &sent); err != nil {
			return err
		}
		return printSent(io, sent.Callback, *f.asJSON)
	case "release":
		if *f.at != "" && *f.cancel {
			return usageErrorf("sandbox release: --at or --cancel, not both")
		}
		body := sandbox.AdminRelease{License: args[0], At: *f.at, Cancel: *f.cancel}
		if *f.at != "" || *f.cancel {
			if err := a.Call(ctx, action, body, nil); err != nil {
				return err
			}
			what := "Release of " + args[0] + " scheduled at " + *f.at + "."
			if *f.cancel {
				what = "Scheduled release of " + args[0] + " cancelled."
			}
			_, err := fmt.Fprintln(io.out, what)
			return err
		}
		if err := a.Call(ctx, action, body, &sent); err != nil {
			return err
		}
		return printSent(io, sent.Callback, *f.asJSON)
	case "renew":
		on := args[1] == "on"
		if !on && args[1] != "off" {
			return usageErrorf("sandbox renew: want on or off, not %q", args[1])
		}
		if err := a.Call(ctx, "auto-renew", sandbox.AdminAutoRenew{License: args[0], On: on}, nil); err != nil {
			return err
		}
		_, err := fmt.Fprintf(io.out, "Automatic renewal of %s: %s.\n", args[0], args[1])
		return err
	case "license":
		body := sandbox.AdminLicense{InstanceID: args[0], EventID: *f.event, Fingerprint: *f.fingerprint,
			EffectiveTime: *f.effect, ExpireTime: *f.expire, TestFlag: *f.testFlag}
		if err := a.Call(ctx, action, body, &sent); err != nil {
			return err
		}
		return printSent(io, sent.Callback, *f.asJSON)
	case "callbacks":
		var list []sandbox.Callback
		if err := a.Call(ctx, action, struct{}{}, &list); err != nil {
			return err
		}
		return printList(io, *f.asJSON, list, "ID\tACTIVITY\tCODE/EVENT\tSTATE\tTRIES\tRESULT\tNEXT", func(c sandbox.Callback) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%s\t%s", c.ID, c.Activity, c.License+c.EventID, c.State, c.Attempts,
				dash(c.Result), dash(formatTime(c.NextAt)))
		})
	case "uploads":
		var list []sandbox.Upload
		if err := a.Call(ctx, action, sandbox.AdminEvent{EventID: *f.event}, &list); err != nil {
			return err
		}
		return printList(io, *f.asJSON, list, "RECEIVED\tEVENT\tTYPE\tBYTES\tSHA256\tANSWER", func(u sandbox.Upload) string {
			return fmt.Sprintf("%s\t%s\t%s\t%d\t%s\t%s", formatTime(u.Received), u.EventID, dash(u.Type), len(u.Content),
				dash(u.SHA256), strings.TrimSpace(u.ErrorCode+" "+u.Reason))
		})
	case "delivered":
		var list []sandbox.Upload
		if err := a.Call(ctx, "uploads", sandbox.AdminEvent{EventID: args[0]}, &list); err != nil {
			return err
		}
		for i := len(list) - 1; i >= 0; i-- {
			if list[i].Accepted() {
				_, err := fmt.Fprintf(io.out, "%s\n", list[i].Content)
				return err
			}
		}
		return errs.E("sandbox delivered", errs.NotExist, fmt.Errorf("no upload accepted for event %s", args[0]))
	case "fail-uploads":
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 0 {
			return usageErrorf("sandbox fail-uploads: want a count of 0 or more, not %q", args[0])
		}
		if err := a.Call(ctx, action, sandbox.AdminCount{Count: n}, nil); err != nil {
			return err
		}
		_, err = fmt.Fprintf(io.out, "The next %d uploads will be answered CBC.0999.\n", n)
		return err
	case "vendor-url":
		if err := a.Call(ctx, action, sandbox.AdminURL{URL: args[0]}, nil); err != nil {
			return err
		}
		_, err := fmt.Fprintln(io.out, "Callbacks now go to the new vendor URL.")
		return err
	}
	return usageErrorf("sandbox: unknown action %q", action)
}

// printSent prints a callback after its first try; a final refusal is an
// error (exit 8), a try to be repeated is not.
func printSent(io *stdio, c sandbox.Callback, asJSON bool) error {
	var err error
	if asJSON {
		err = printJSON(io.out, c)
	} else {
		what := c.Activity + " " + c.License + c.EventID
		switch {
		case c.Attempts == 0:
			_, err = fmt.Fprintf(io.out, "Callback %s queued: %s (no vendor URL yet, or not tried yet).\n", c.ID, what)
		default:
			tries := "tries"
			if c.Attempts == 1 {
				tries = "try"
			}
			_, err = fmt.Fprintf(io.out, "Callback %s %s: %s after %d %s, last answer %s %s.\n", c.ID, what, c.State,
				c.Attempts, tries, c.Result, strings.TrimRight(c.Message, "."))
		}
		if c.EventID != "" {
			fmt.Fprintf(io.out, "event: %s\n", c.EventID)
		}
	}
	if err == nil && (c.State == sandbox.CallbackRefused || c.State == sandbox.CallbackGaveUp) {
		err = errs.E("sandbox", errs.Failed, fmt.Errorf("the vendor answered %s %s", c.Result, c.Message))
	}
	return err
}

// printList prints list as a JSON array (never null), or as a table with
// header and one row a line.
func printList[T any](io *stdio, asJSON bool, list []T, header string, row func(T) string) error {
	if asJSON {
		if list == nil {
			list = []T{}
		}
		return printJSON(io.out, list)
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, v := range list {
		fmt.Fprintln(tw, row(v))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
