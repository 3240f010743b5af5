package main

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func TestNoArgumentsOpensWindow(t *testing.T) {
	var errb bytes.Buffer
	opened := 0
	io := &stdio{out: &bytes.Buffer{}, err: &errb, getenv: func(string) string { return "" },
		gui: func(context.Context, *stdio) error { opened++; return errors.New("no display") }}
	if code := run(context.Background(), nil, io); code != exitInternal || opened != 1 || errb.String() != "iscdesk: no display\n" {
		t.Errorf("code %d, opened %d, stderr %q", code, opened, errb.String())
	}
}

// fyne is linked into every build: under the C.UTF-8 locale of containers it
// must not log on standard error (see internal/localeenv), or every CLI error
// would be more than one line.
func TestNoFyneNoiseOnStderr(t *testing.T) {
	bin := buildBinary(t)
	r := runBin(t, bin, []string{"LANG=C.UTF-8", "HOME=" + t.TempDir()}, "version")
	if r.Code != 0 || r.Stderr != "" {
		t.Errorf("version under LANG=C.UTF-8: exit %d, stderr %q", r.Code, r.Stderr)
	}
}
