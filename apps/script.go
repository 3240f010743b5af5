package apps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/iscdesk/iscdesk/internal/childenv"
)

// runScript runs the package's script (install or uninstall) from the
// package folder with the target folder as its first argument and in
// ISCDESK_INSTALL_DIR, with no standard input, its output in the log file,
// and within the Manager's time limit. Cancelling ctx kills it.
func (m *Manager) runScript(ctx context.Context, pkg packageDir, script, target, logPath string) error {
	fail := func(err error) error {
		return &ScriptError{Package: pkg.name, Script: script, Log: logPath, Err: err}
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return fail(err)
	}
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fail(err)
	}
	defer log.Close()
	start := time.Now()
	fmt.Fprintf(log, "iscdesk: %s of %s %s\niscdesk: target folder %s\niscdesk: started %s\n\n",
		script, pkg.name, pkg.version, target, start.Format(time.RFC3339))

	timeout := m.scriptTimeout()
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd, err := scriptCommand(runCtx, filepath.Join(pkg.dir, script), target)
	if err != nil {
		fmt.Fprintf(log, "\niscdesk: cannot run %s: %v\n", script, err)
		return fail(err)
	}
	cmd.Dir = pkg.dir
	// A script may download: it gets the proxy, credentials and all.
	cmd.Env = childenv.WithProxy(m.Proxy, "ISCDESK_INSTALL_DIR="+target)
	cmd.Stdin = nil // the null device: a silent script never waits for input
	// The log file itself is the child's output, not a pipe: nothing needs
	// copying, and processes the script leaves running cannot make Wait
	// hang on an open pipe.
	cmd.Stdout, cmd.Stderr = log, log
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	took := time.Since(start).Round(time.Millisecond)
	if err == nil {
		fmt.Fprintf(log, "\niscdesk: %s succeeded in %v\n", script, took)
		return nil
	}
	se := &ScriptError{Package: pkg.name, Script: script, Log: logPath, Err: err}
	switch {
	case ctx.Err() != nil:
		se.Err = ctx.Err()
	case errors.Is(runCtx.Err(), context.DeadlineExceeded):
		se.Timeout = timeout
	}
	fmt.Fprintf(log, "\niscdesk: %s after %v\n", se.Error(), took)
	return se
}

func (m *Manager) logPath(name, action string, t time.Time) string {
	return filepath.Join(m.Root, "logs", fmt.Sprintf("%s-%s-%s.log", name, action, t.UTC().Format("20060102T150405.000Z")))
}
