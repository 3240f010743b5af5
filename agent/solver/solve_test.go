//go:build unix

// The solver tests run shell scripts, hence Unix only.

package solver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/filecopy"
)

// solverScript writes an executable /bin/sh script and returns its path.
func solverScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "solve.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// solverModel writes a model file to solve.
func solverModel(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "beam.inp")
	if err := os.WriteFile(p, []byte("*NODE\n1, 0, 0, 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readText(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestSolve(t *testing.T) {
	script := solverScript(t, `
echo "solving $1"
echo "a warning" >&2
cp "$1" "$2/result.dat"
pwd > "$2/cwd"
echo "$ISCDESK_INPUT" > "$2/env"
echo "$3" > "$2/arg3"`)
	model := solverModel(t)
	results := filepath.Join(t.TempDir(), "results")
	s := NewCommand([]string{script, "{input}", "{output}", "--tag={input}.tag"}, time.Minute, results)

	res, err := s.Solve(context.Background(), Request{Input: model})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || res.Duration <= 0 {
		t.Errorf("result %+v", res)
	}
	if filepath.Dir(res.ResultDir) != results || !strings.HasPrefix(filepath.Base(res.ResultDir), "beam-") {
		t.Errorf("result folder %s, want %s/beam-<time>", res.ResultDir, results)
	}
	if res.Log != filepath.Join(res.ResultDir, "solver.log") {
		t.Errorf("log %s", res.Log)
	}
	if readText(t, filepath.Join(res.ResultDir, "result.dat")) != readText(t, model) {
		t.Error("the solver did not get the model")
	}
	if got := readText(t, res.Log); got != "solving "+model+"\na warning" {
		t.Errorf("log %q", got)
	}
	for file, want := range map[string]string{"cwd": res.ResultDir, "env": model, "arg3": "--tag=" + model + ".tag"} {
		if got := readText(t, filepath.Join(res.ResultDir, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}

	// A second solve of the same model gets a folder of its own.
	res2, err := s.Solve(context.Background(), Request{Input: model})
	if err != nil {
		t.Fatal(err)
	}
	if res2.ResultDir == res.ResultDir {
		t.Error("two solves share a result folder")
	}
}

func TestSolveFails(t *testing.T) {
	model := solverModel(t)
	tests := []struct {
		name     string
		template func(t *testing.T) []string
		input    string
		want     error    // nil: any error
		says     []string // in the message
		exitCode int
		kind     errs.Kind
	}{
		{"non-zero exit", func(t *testing.T) []string { return []string{solverScript(t, "echo bad mesh >&2; exit 3")} },
			model, ErrFailed, []string{"exit code 3", "solver.log"}, 3, errs.Failed},
		{"killed by a signal", func(t *testing.T) []string { return []string{solverScript(t, "kill -9 $$")} },
			model, ErrFailed, []string{"signal: killed", "solver.log"}, -1, errs.Failed},
		{"no template", func(*testing.T) []string { return nil },
			model, ErrNotConfigured, []string{"no solver is configured", "solver_command"}, -1, errs.Unavailable},
		{"empty program", func(*testing.T) []string { return []string{"", "{input}"} },
			model, nil, []string{"solver_command"}, -1, errs.Unavailable},
		{"missing program", func(t *testing.T) []string { return []string{filepath.Join(t.TempDir(), "no-solver")} },
			model, fs.ErrNotExist, []string{"starting the solver"}, -1, errs.Failed},
		{"missing input", func(t *testing.T) []string { return []string{solverScript(t, "exit 0")} },
			filepath.Join(filepath.Dir(model), "missing.inp"), fs.ErrNotExist, []string{"missing.inp"}, -1, errs.NotExist},
		{"folder as input", func(t *testing.T) []string { return []string{solverScript(t, "exit 0")} },
			filepath.Dir(model), filecopy.ErrNotRegular, []string{filepath.Dir(model)}, -1, errs.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewCommand(tt.template(t), time.Minute, filepath.Join(t.TempDir(), "results"))
			res, err := s.Solve(context.Background(), Request{Input: tt.input})
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %q does not wrap %q", err, tt.want)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if k := errs.KindOf(err); k != tt.kind {
				t.Errorf("error %q is of kind %v, want %v", err, k, tt.kind)
			}
			if res.ExitCode != tt.exitCode {
				t.Errorf("exit code %d, want %d", res.ExitCode, tt.exitCode)
			}
			if tt.want == ErrFailed && !strings.Contains(err.Error(), res.Log) {
				t.Errorf("error %q does not name the log %s", err, res.Log)
			}
		})
	}
}

// groupScript starts a child in the background and records both pids, then
// waits: a solver wrapper that starts the real solver.
const groupScript = `sleep 30 &
echo $! > "$2/child.pid"
echo $$ > "$2/leader.pid"
wait`

func TestSolveTimeout(t *testing.T) {
	const timeout = 500 * time.Millisecond
	s := NewCommand([]string{solverScript(t, groupScript), "{input}", "{output}"}, timeout, filepath.Join(t.TempDir(), "results"))
	start := time.Now()
	res, err := s.Solve(context.Background(), Request{Input: solverModel(t)})
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "timed out") || errs.KindOf(err) != errs.Failed {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if elapsed > timeout+time.Second {
		t.Errorf("returned after %v, timeout %v", elapsed, timeout)
	}
	assertGroupGone(t, res.ResultDir)
}

func TestSolveCancel(t *testing.T) {
	s := NewCommand([]string{solverScript(t, groupScript), "{input}", "{output}"}, time.Minute, filepath.Join(t.TempDir(), "results"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	res, err := s.Solve(ctx, Request{Input: solverModel(t)})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) || errs.KindOf(err) != errs.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("returned %v after the start, cancelled after 300ms", elapsed)
	}
	assertGroupGone(t, res.ResultDir)
}

// assertGroupGone checks that the leader and the child whose pids
// groupScript recorded in dir are dead.
func assertGroupGone(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"leader.pid", "child.pid"} {
		pid, err := strconv.Atoi(readText(t, filepath.Join(dir, f)))
		if err != nil {
			t.Fatal(err)
		}
		// SIGKILL is delivered at once, but the dead child is reaped
		// asynchronously by whoever inherits it.
		deadline := time.Now().Add(time.Second)
		for !processGone(pid) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("%s %d still running", f, pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// processGone reports whether pid no longer runs: it does not exist, or it
// is a zombie waiting for its parent to reap it.
func processGone(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, ok := strings.Cut(string(stat), ") ")
	return ok && strings.HasPrefix(rest, "Z")
}

// A process the solver leaves behind holding its output must not keep Solve
// waiting once the solver itself has finished.
func TestSolveStragglerDoesNotHang(t *testing.T) {
	script := solverScript(t, `sleep 30 &
echo $! > "$2/child.pid"
echo finished`)
	s := NewCommand([]string{script, "{input}", "{output}"}, time.Minute, filepath.Join(t.TempDir(), "results"))
	start := time.Now()
	res, err := s.Solve(context.Background(), Request{Input: solverModel(t)})
	if pid, perr := strconv.Atoi(readText(t, filepath.Join(res.ResultDir, "child.pid"))); perr == nil {
		defer syscall.Kill(pid, syscall.SIGKILL)
	}
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("err = %v, exit code %d", err, res.ExitCode)
	}
	if elapsed := time.Since(start); elapsed > outputGrace+time.Second {
		t.Errorf("returned after %v", elapsed)
	}
	if got := readText(t, res.Log); got != "finished" {
		t.Errorf("log %q", got)
	}
}

func TestSolveLogCapped(t *testing.T) {
	tests := []struct {
		limit, output int64
	}{
		{limit: 1000, output: 999},
		{limit: 1000, output: 1000},
		{limit: 1000, output: 5000},
		{limit: DefaultLogLimit, output: DefaultLogLimit + 1<<20},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.limit, "/", tt.output), func(t *testing.T) {
			script := solverScript(t, fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x; echo done >&2", tt.output-5))
			s := NewCommand([]string{script}, time.Minute, filepath.Join(t.TempDir(), "results"))
			s.logLimit = tt.limit
			res, err := s.Solve(context.Background(), Request{Input: solverModel(t)})
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(res.Log)
			if err != nil {
				t.Fatal(err)
			}
			note := fmt.Sprintf("[iscdesk: output truncated after %d bytes; %d more bytes were discarded]", tt.limit, tt.output-tt.limit)
			if tt.output <= tt.limit {
				if int64(len(data)) != tt.output || !strings.HasSuffix(string(data), "done\n") {
					t.Errorf("log of %d bytes ends %q", len(data), data[max(0, len(data)-20):])
				}
				return
			}
			if !strings.HasSuffix(string(data), note+"\n") || int64(len(data)) != tt.limit+int64(len(note))+2 {
				t.Errorf("log of %d bytes ends %q, want the note %q", len(data), data[max(0, len(data)-100):], note)
			}
		})
	}
}

// The solver never sees iscdesk's secrets, even when iscdesk got them from
// the environment; it does get its own variables.
func TestSolverEnvironmentHasNoSecrets(t *testing.T) {
	t.Setenv("ISCDESK_SK", "do-not-leak")
	t.Setenv("ISCDESK_AK", "do-not-leak-either")
	s := NewCommand([]string{solverScript(t, `env > "$2/env.txt"`), "{input}", "{output}"}, time.Minute, filepath.Join(t.TempDir(), "results"))
	res, err := s.Solve(context.Background(), Request{Input: solverModel(t)})
	if err != nil {
		t.Fatal(err)
	}
	env := readText(t, filepath.Join(res.ResultDir, "env.txt"))
	if strings.Contains(env, "do-not-leak") || !strings.Contains(env, "ISCDESK_INPUT=") {
		t.Fatalf("the solver's environment:\n%s", env)
	}
}
