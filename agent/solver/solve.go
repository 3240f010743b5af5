// Package solver is the agent's default solver hook (GetSolution): it runs an
// administrator-configured command on the model file, with a time limit, in
// a result folder of its own, capturing the solver's output, and kills the
// command with everything it started when the time is up or the caller gives
// up.
//
// It must not import the agent (which uses it through its Solver hook), sdk
// or the GUI toolkit.
package solver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/childenv"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/filecopy"
)

// Request is one GetSolution call.
type Request struct {
	Input string // path of the model file
}

// Result is what a solve produced.
type Result struct {
	ResultDir string        // folder holding the results and the captured output
	ExitCode  int           // the solver's exit code
	Log       string        // path of the captured standard output and error
	Duration  time.Duration //
}

// DefaultTimeout bounds a solve when a Command is given no timeout, so a hung
// solver is not left running forever.
const DefaultTimeout = 2 * time.Hour

const (
	// DefaultLogLimit caps the captured output: a solver stuck in a
	// loop printing must not fill the disk.
	DefaultLogLimit = 16 << 20
	// solverLogName is the file, in the result folder, holding the solver's
	// standard output and error.
	solverLogName = "solver.log"
	// outputGrace is how long Solve waits, after the solver exited or was
	// killed, for processes it left behind to close their output.
	outputGrace = 2 * time.Second
	// stampLayout names result folders: UTC, fixed width, so that names
	// sort in time order.
	stampLayout = "20060102T150405.000000000Z"
)

// Errors of a solve, wrapped by the errors Solve returns.
var (
	ErrNotConfigured = errors.New("no solver is configured: the administrator sets solver_command")
	ErrFailed        = errors.New("the solver failed")
	ErrTimeout       = errors.New("the solver timed out")
)

// Command is the default solver: it runs a command given as an argv
// template (no shell involved), in which every "{input}" is replaced by the
// model's absolute path and every "{output}" by a fresh result folder under
// the result root, named <model name>-<UTC time>. The command also finds them
// in the environment as ISCDESK_INPUT and ISCDESK_OUTPUT, and runs in the
// result folder. Its standard output and error go to solver.log there.
//
// On a timeout or when the caller's context ends, the command is killed with
// everything it started (its process group; on Windows the process itself).
type Command struct {
	template   []string
	timeout    time.Duration
	resultRoot string
	logLimit   int64
}

// NewCommand returns a Command running template (e.g.
// ["/opt/solver/bin/solve", "--in", "{input}", "--out", "{output}"]) for at
// most timeout (DefaultTimeout if not positive), with result folders
// under resultRoot. An empty template is accepted: Solve then says that no
// solver is configured, so the rest of the agent works without one.
func NewCommand(template []string, timeout time.Duration, resultRoot string) *Command {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Command{
		template:   append([]string(nil), template...),
		timeout:    timeout,
		resultRoot: resultRoot,
		logLimit:   DefaultLogLimit,
	}
}

// Solve runs the command on req.Input. The result is filled in as far as the
// solve got, also with an error, so the caller can point at the log.
//
// Its errors carry their kind (internal/errs): Unavailable when no solver is
// configured, Invalid or NotExist for an input that is not a regular file,
// Failed when the solver failed, timed out or could not start, Canceled when
// ctx ended first.
func (s *Command) Solve(ctx context.Context, req Request) (Result, error) {
	res := Result{ExitCode: -1}
	fail := func(kind errs.Kind, err error) (Result, error) { return res, errs.E("solver", kind, err) }
	if len(s.template) == 0 {
		return fail(errs.Unavailable, fmt.Errorf("solve: %w", ErrNotConfigured))
	}
	if s.template[0] == "" {
		return fail(errs.Unavailable, errors.New("solve: the configured solver_command names no program"))
	}
	if s.resultRoot == "" {
		return fail(errs.Unavailable, errors.New("solve: no folder for results is configured"))
	}
	input, err := filepath.Abs(req.Input)
	if err != nil {
		return fail(errs.Invalid, fmt.Errorf("solve %s: %w", req.Input, err))
	}
	fi, err := os.Stat(input)
	if err != nil {
		return fail(filecopy.KindOf(err), fmt.Errorf("solve: %w", err))
	}
	if err := filecopy.Regular(fi); err != nil {
		return fail(errs.Invalid, fmt.Errorf("solve %s: %w", input, err))
	}
	if res.ResultDir, err = newResultDir(s.resultRoot, input); err != nil {
		return res, fmt.Errorf("solve %s: %w", input, err)
	}
	res.Log = filepath.Join(res.ResultDir, solverLogName)
	logFile, err := os.OpenFile(res.Log, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return res, fmt.Errorf("solve %s: %w", input, err)
	}
	log := &cappedLog{f: logFile, limit: s.logLimit}

	argv := make([]string, len(s.template))
	for i, a := range s.template {
		argv[i] = strings.NewReplacer("{input}", input, "{output}", res.ResultDir).Replace(a)
	}
	runCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	cmd.Dir = res.ResultDir
	cmd.Env = childenv.For("ISCDESK_INPUT="+input, "ISCDESK_OUTPUT="+res.ResultDir)
	// One writer for both: exec then calls it from one goroutine at a time.
	cmd.Stdout, cmd.Stderr = log, log
	// Without it, a process the solver left behind holding the output pipe
	// would keep Solve waiting after the solver itself has exited.
	cmd.WaitDelay = outputGrace
	killTreeOnCancel(cmd)

	start := time.Now()
	runErr := cmd.Run()
	res.Duration = time.Since(start)
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err := log.close(); err != nil && runErr == nil {
		return res, fmt.Errorf("solve %s: writing %s: %w", input, res.Log, err)
	}

	switch {
	case runErr == nil || errors.Is(runErr, exec.ErrWaitDelay) && res.ExitCode == 0:
		return res, nil
	case ctx.Err() != nil:
		return fail(errs.Canceled, fmt.Errorf("solve %s: stopped (log %s): %w", input, res.Log, ctx.Err()))
	case runCtx.Err() != nil:
		return fail(errs.Failed, fmt.Errorf("solve %s: %w after %s and was stopped (log %s)", input, ErrTimeout, s.timeout, res.Log))
	case cmd.ProcessState == nil:
		return fail(errs.Failed, fmt.Errorf("solve %s: starting the solver: %w", input, runErr))
	case res.ExitCode < 0:
		return fail(errs.Failed, fmt.Errorf("solve %s: %w: %s (log %s)", input, ErrFailed, cmd.ProcessState, res.Log))
	default:
		return fail(errs.Failed, fmt.Errorf("solve %s: %w with exit code %d (log %s)", input, ErrFailed, res.ExitCode, res.Log))
	}
}

// newResultDir creates <root>/<model name>-<UTC time> for input.
func newResultDir(root, input string) (string, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", err
	}
	base := filepath.Base(input)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	if name == "" {
		name = base
	}
	t := time.Now()
	for {
		dir := filepath.Join(root, name+"-"+t.UTC().Format(stampLayout))
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
		t = t.Add(time.Nanosecond) // two solves within the clock's resolution
	}
}

// cappedLog writes the first limit bytes of the solver's output to f and
// counts the rest. It never fails a write, so a full log or a full disk does
// not break the solver's output pipe.
type cappedLog struct {
	f              *os.File
	limit, written int64
	dropped        int64
	err            error
}

func (w *cappedLog) Write(p []byte) (int, error) {
	keep := min(int64(len(p)), max(w.limit-w.written, 0))
	if keep > 0 && w.err == nil {
		n, err := w.f.Write(p[:keep])
		w.written += int64(n)
		w.err = err
	}
	w.dropped += int64(len(p)) - keep
	return len(p), nil
}

// close notes a truncation at the end of the log and closes it.
func (w *cappedLog) close() error {
	if w.dropped > 0 && w.err == nil {
		_, w.err = fmt.Fprintf(w.f, "\n[iscdesk: output truncated after %d bytes; %d more bytes were discarded]\n", w.written, w.dropped)
	}
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	return w.err
}
