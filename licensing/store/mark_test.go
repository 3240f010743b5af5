package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/secret"
)

func testMark(at time.Time) licensing.Mark {
	var m licensing.Mark
	m.Observe(at)
	m.Answer("PLMARK0001", licensing.StatusReleased, at)
	return m
}

// testMarksContract runs what the mark's copies must do over secrets (the
// keyring copy) and two files in dir.
func testMarksContract(t *testing.T, secrets secret.Store, dir string) {
	ctx := context.Background()
	files := []string{filepath.Join(dir, "state", MarkFile), filepath.Join(dir, MarkFile)}
	marks := NewMarks(secrets, machine("machine-A"), files...)
	if m, err := marks.LoadMark(ctx); err != nil || !m.MaxSeen.IsZero() || len(m.Activations) != 0 {
		t.Fatalf("no copies yet: %+v %v", m, err)
	}
	old, fresh := testMark(t0), testMark(t0.Add(48*time.Hour))
	if err := marks.SaveMark(ctx, old); err != nil {
		t.Fatal(err)
	}
	oldCopies := readCopies(t, secrets, files)
	if err := marks.SaveMark(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	freshCopies := readCopies(t, secrets, files)
	want := func(what string, at time.Time) {
		t.Helper()
		m, err := marks.LoadMark(ctx)
		if err != nil || !m.MaxSeen.Equal(at) {
			t.Fatalf("%s: max seen %v, want %v (%v)", what, m.MaxSeen, at, err)
		}
		if c, ok := m.Known("PLMARK0001"); !ok || c.Status != licensing.StatusReleased {
			t.Fatalf("%s: code %+v", what, c)
		}
	}
	want("saved", fresh.MaxSeen)
	for i := range freshCopies {
		// One copy restored from before, or deleted: the others hold.
		writeCopies(t, secrets, files, freshCopies)
		stale := append([][]byte(nil), freshCopies...)
		stale[i] = oldCopies[i]
		writeCopies(t, secrets, files, stale)
		want(fmt.Sprintf("copy %d restored from before", i), fresh.MaxSeen)
		stale[i] = nil
		writeCopies(t, secrets, files, stale)
		want(fmt.Sprintf("copy %d deleted", i), fresh.MaxSeen)
	}
	// An edited copy is named, and the others still count.
	writeCopies(t, secrets, files, freshCopies)
	edited := append([]byte(nil), freshCopies[len(files)-1]...)
	edited[len(edited)-3] ^= 1
	if err := os.WriteFile(files[len(files)-1], edited, 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := marks.LoadMark(ctx)
	if !errs.Is(err, errs.Storage) || !strings.Contains(err.Error(), files[len(files)-1]) || !m.MaxSeen.Equal(fresh.MaxSeen) {
		t.Fatalf("an edited copy: %+v, %v", m.MaxSeen, err)
	}
	// Saving writes every copy again.
	if err := marks.SaveMark(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if _, err := marks.LoadMark(ctx); err != nil {
		t.Fatalf("after a save: %v", err)
	}
	// Copies from another machine count for nothing there.
	m, err = NewMarks(secrets, machine("machine-B"), files...).LoadMark(ctx)
	if !errs.Is(err, errs.Storage) || !m.MaxSeen.IsZero() {
		t.Fatalf("on another machine: %+v, %v", m.MaxSeen, err)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st.Mode(), err)
		}
		data, _ := os.ReadFile(f)
		if bytes.Contains(data, []byte("PLMARK")) {
			t.Errorf("%s shows the license code", f)
		}
	}
}

// readCopies returns the copies' bytes: the keyring entry first (when
// secrets is not nil), then the files.
func readCopies(t *testing.T, secrets secret.Store, files []string) [][]byte {
	t.Helper()
	var out [][]byte
	if secrets != nil {
		v, err := secrets.Get(context.Background(), accountMark)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, []byte(v))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// writeCopies puts copies back as readCopies returned them; nil deletes.
func writeCopies(t *testing.T, secrets secret.Store, files []string, copies [][]byte) {
	t.Helper()
	ctx := context.Background()
	if secrets != nil {
		var err error
		if copies[0] == nil {
			err = secrets.Delete(ctx, accountMark)
		} else {
			err = secrets.Set(ctx, accountMark, string(copies[0]))
		}
		if err != nil {
			t.Fatal(err)
		}
		copies = copies[1:]
	}
	for i, f := range files {
		var err error
		if copies[i] == nil {
			err = os.Remove(f)
		} else {
			err = os.WriteFile(f, copies[i], 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestMarksMemoryKeyring(t *testing.T) {
	testMarksContract(t, &secret.Memory{}, t.TempDir())
}

func TestMarksFilesOnly(t *testing.T) {
	testMarksContract(t, nil, t.TempDir())
}

func TestRealKeyringMarks(t *testing.T) {
	requireRealKeyring(t)
	_ = realKeyring().Delete(context.Background(), accountMark)
	t.Cleanup(func() { _ = realKeyring().Delete(context.Background(), accountMark) })
	testMarksContract(t, realKeyring(), t.TempDir())
}

// Without a keyring service the files alone keep the mark, and that is not
// an error.
func TestMarksWithoutKeyring(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), MarkFile)
	marks := NewMarks(&secret.Memory{Fail: fmt.Errorf("%w: no bus", secret.ErrUnavailable)}, machine("m"), file)
	if err := marks.SaveMark(ctx, testMark(t0)); err != nil {
		t.Fatal(err)
	}
	if m, err := marks.LoadMark(ctx); err != nil || !m.MaxSeen.Equal(t0) {
		t.Fatalf("%+v %v", m, err)
	}
	// A keyring that fails otherwise is reported, beside what the file holds.
	marks = NewMarks(&secret.Memory{Fail: secret.ErrTimeout}, machine("m"), file)
	if m, err := marks.LoadMark(ctx); !errs.Is(err, errs.Storage) || !m.MaxSeen.Equal(t0) {
		t.Fatalf("a hung keyring: %+v %v", m, err)
	}
	if err := marks.SaveMark(ctx, testMark(t0)); !errs.Is(err, errs.Storage) || !strings.Contains(err.Error(), accountMark) {
		t.Fatalf("saving with a hung keyring: %v", err)
	}
}

// The largest mark (every code as long as the marketplace allows, times
// with nanoseconds) fits one keyring entry on every OS.
func TestMarkFitsOneKeyringEntry(t *testing.T) {
	var m licensing.Mark
	at := t0.Add(123456789 * time.Nanosecond)
	m.Observe(at)
	for i := range licensing.MaxMarked + 3 {
		code := fmt.Sprintf("%0*d", licensing.MaxCodeLen, i)
		m.Answer(code, licensing.StatusReleased, at.Add(time.Duration(i)*time.Second))
	}
	mem := &secret.Memory{}
	if err := NewMarks(mem, machine("m")).SaveMark(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	v, _ := mem.Get(context.Background(), accountMark)
	if raw, _ := base64.StdEncoding.DecodeString(v); len(raw) == 0 {
		t.Fatal("nothing stored")
	}
	t.Logf("largest mark: %d of %d bytes", len(v), secret.MaxValueBytes)
}

// BenchmarkLoadMark reads and merges the mark's three copies: a keyring
// entry (in memory here) and two files.
func BenchmarkLoadMark(b *testing.B) {
	dir := b.TempDir()
	marks := NewMarks(&secret.Memory{}, machine("bench"), filepath.Join(dir, "state", MarkFile), filepath.Join(dir, MarkFile))
	ctx := context.Background()
	if err := marks.SaveMark(ctx, testMark(t0)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := marks.LoadMark(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
