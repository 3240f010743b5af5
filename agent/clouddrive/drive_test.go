package clouddrive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/filecopy"
)

func newTestDrive(t testing.TB, opts LocalFolderOptions) *LocalFolder {
	t.Helper()
	d, err := NewLocalFolderWith(filepath.Join(t.TempDir(), "drive"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func writeTestFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func shaHex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return shaHex(data)
}

// scratchLeft lists what a save left in the drive's root besides entries and
// versions: temporary files and staging folders.
func scratchLeft(t testing.TB, d *LocalFolder) []string {
	t.Helper()
	des, err := os.ReadDir(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") && de.Name() != versionsDir {
			left = append(left, de.Name())
		}
	}
	return left
}

func versionsOf(t testing.TB, d *LocalFolder, name string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(d.Root(), versionsDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, de := range des {
		vs = append(vs, de.Name())
	}
	return vs
}

// sparseFile makes a file of size bytes that takes no disk space to create
// and reads fast: big enough to see progress steps and cancel mid-copy.
func sparseFile(t testing.TB, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

func TestNewLocalFolderCreatesPrivateRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "drive")
	d, err := NewLocalFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("root mode %v, want 0700", fi.Mode().Perm())
	}
	if _, err := NewLocalFolder(""); err == nil {
		t.Error("an empty root was accepted")
	}
	file := filepath.Join(t.TempDir(), "file")
	writeTestFile(t, file, nil)
	if _, err := NewLocalFolder(file); err == nil {
		t.Error("a file was accepted as the root")
	}
}

func TestSaveFile(t *testing.T) {
	d := newTestDrive(t, LocalFolderOptions{})
	src := filepath.Join(t.TempDir(), "bracket.prt")
	data := []byte("solid bracket\nendsolid\n")
	writeTestFile(t, src, data)

	res, err := d.Save(context.Background(), SaveRequest{Path: src}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := SaveResult{Name: "bracket.prt", Stored: filepath.Join(d.Root(), "bracket.prt"), Bytes: int64(len(data)), SHA256: shaHex(data)}
	if res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	if got := fileSHA(t, res.Stored); got != shaHex(data) {
		t.Errorf("stored copy has SHA-256 %s, want %s", got, shaHex(data))
	}
	if left := scratchLeft(t, d); left != nil {
		t.Errorf("left behind: %v", left)
	}
}

func TestSaveFileThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.prt")
	writeTestFile(t, real, []byte("content"))
	link := filepath.Join(dir, "model.prt")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("symbolic links unavailable:", err)
	}
	d := newTestDrive(t, LocalFolderOptions{})
	res, err := d.Save(context.Background(), SaveRequest{Path: link}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Stored under the name the program used, with the content it wrote.
	if res.Name != "model.prt" || fileSHA(t, res.Stored) != shaHex([]byte("content")) {
		t.Errorf("result %+v", res)
	}
	if fi, err := os.Lstat(res.Stored); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("stored entry is not a regular file: %v %v", fi.Mode(), err)
	}
}

func TestSaveKeepsVersions(t *testing.T) {
	tests := []struct {
		keep int // option
		want int // versions left after 7 saves
	}{
		{keep: 0, want: DefaultKeepVersions},
		{keep: 2, want: 2},
		{keep: 10, want: 6},
		{keep: -1, want: 0},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.keep), func(t *testing.T) {
			d := newTestDrive(t, LocalFolderOptions{KeepVersions: tt.keep})
			src := filepath.Join(t.TempDir(), "shaft.prt")
			var res SaveResult
			for i := range 7 {
				writeTestFile(t, src, fmt.Appendf(nil, "version %d", i))
				var err error
				if res, err = d.Save(context.Background(), SaveRequest{Path: src}, nil); err != nil {
					t.Fatal(err)
				}
			}
			if got := fileSHA(t, res.Stored); got != shaHex([]byte("version 6")) {
				t.Error("live file is not the last version")
			}
			vs := versionsOf(t, d, "shaft.prt")
			if len(vs) != tt.want {
				t.Fatalf("%d versions kept, want %d: %v", len(vs), tt.want, vs)
			}
			if tt.want == 0 {
				if res.Previous != "" {
					t.Errorf("Previous = %q with no versions kept", res.Previous)
				}
				return
			}
			if filepath.Base(res.Previous) != vs[len(vs)-1] {
				t.Errorf("Previous %s is not the newest version %s", res.Previous, vs[len(vs)-1])
			}
			if got := fileSHA(t, res.Previous); got != shaHex([]byte("version 5")) {
				t.Error("the newest version does not hold the previous content")
			}
			if got := fileSHA(t, filepath.Join(filepath.Dir(res.Previous), vs[0])); got != shaHex(fmt.Appendf(nil, "version %d", 6-tt.want)) {
				t.Error("the oldest version kept is not the expected one")
			}
		})
	}
}

// refusals are saves that must fail before anything reaches the drive.
var refusals = []struct {
	name  string
	setup func(t *testing.T, work string, d *LocalFolder) SaveRequest
	want  error
	kind  errs.Kind
}{
	{"missing file", func(t *testing.T, work string, _ *LocalFolder) SaveRequest {
		return SaveRequest{Path: filepath.Join(work, "missing.prt")}
	}, fs.ErrNotExist, errs.NotExist},
	{"folder as a plain file", func(t *testing.T, work string, _ *LocalFolder) SaveRequest {
		main, _ := makeAssembly(t, work, "x")
		return SaveRequest{Path: filepath.Dir(main)}
	}, ErrIsFolder, errs.Invalid},
	{"socket", func(t *testing.T, work string, _ *LocalFolder) SaveRequest {
		if runtime.GOOS == "windows" {
			t.Skip("no socket files")
		}
		// Unix socket paths are short: use a short folder of its own.
		dir, err := os.MkdirTemp("", "sock")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		p := filepath.Join(dir, "s")
		l, err := net.Listen("unix", p)
		if err != nil {
			t.Skip("unix sockets unavailable:", err)
		}
		t.Cleanup(func() { l.Close() })
		return SaveRequest{Path: p}
	}, filecopy.ErrNotRegular, errs.Invalid},
	{"reserved name", func(t *testing.T, work string, _ *LocalFolder) SaveRequest {
		p := filepath.Join(work, ".hidden")
		writeTestFile(t, p, []byte("x"))
		return SaveRequest{Path: p}
	}, ErrBadName, errs.Invalid},
	{"file over an assembly", func(t *testing.T, work string, d *LocalFolder) SaveRequest {
		main, _ := makeAssembly(t, work, "x")
		if _, err := d.Save(context.Background(), SaveRequest{Path: main, Assembly: true}, nil); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(work, "other", "gearbox")
		writeTestFile(t, p, []byte("x"))
		return SaveRequest{Path: p}
	}, ErrNameTaken, errs.Invalid},
	{"assembly over a file", func(t *testing.T, work string, d *LocalFolder) SaveRequest {
		p := filepath.Join(work, "other", "gearbox")
		writeTestFile(t, p, []byte("x"))
		if _, err := d.Save(context.Background(), SaveRequest{Path: p}, nil); err != nil {
			t.Fatal(err)
		}
		main, _ := makeAssembly(t, work, "x")
		return SaveRequest{Path: main, Assembly: true}
	}, ErrNameTaken, errs.Invalid},
	{"assembly in a folder named otherwise", func(t *testing.T, work string, _ *LocalFolder) SaveRequest {
		p := filepath.Join(work, "projects", "gearbox.asm")
		writeTestFile(t, p, []byte("x"))
		return SaveRequest{Path: p, Assembly: true}
	}, ErrNotAssembly, errs.Invalid},
	{"assembly named by its folder", func(t *testing.T, work string, _ *LocalFolder) SaveRequest {
		main, _ := makeAssembly(t, work, "x")
		return SaveRequest{Path: filepath.Dir(main), Assembly: true}
	}, ErrIsFolder, errs.Invalid},
	{"assembly with a missing main file", func(t *testing.T, work string, _ *LocalFolder) SaveRequest {
		main, _ := makeAssembly(t, work, "x")
		return SaveRequest{Path: filepath.Join(filepath.Dir(main), "gearbox.step"), Assembly: true}
	}, fs.ErrNotExist, errs.NotExist},
	{"assembly with a link leading out", func(t *testing.T, work string, _ *LocalFolder) SaveRequest {
		main, _ := makeAssembly(t, work, "x")
		secret := filepath.Join(work, "secret.txt")
		writeTestFile(t, secret, []byte("x"))
		if err := os.Symlink(secret, filepath.Join(filepath.Dir(main), "parts", "leak.prt")); err != nil {
			t.Skip("symbolic links unavailable:", err)
		}
		return SaveRequest{Path: main, Assembly: true}
	}, ErrLinkEscapes, errs.Invalid},
	{"assembly with a relative link leading out", func(t *testing.T, work string, _ *LocalFolder) SaveRequest {
		main, _ := makeAssembly(t, work, "x")
		writeTestFile(t, filepath.Join(work, "secret.txt"), []byte("x"))
		if err := os.Symlink(filepath.Join("..", "..", "secret.txt"), filepath.Join(filepath.Dir(main), "parts", "leak.prt")); err != nil {
			t.Skip("symbolic links unavailable:", err)
		}
		return SaveRequest{Path: main, Assembly: true}
	}, ErrLinkEscapes, errs.Invalid},
	{"assembly with a broken link", func(t *testing.T, work string, _ *LocalFolder) SaveRequest {
		main, _ := makeAssembly(t, work, "x")
		if err := os.Symlink("nowhere.prt", filepath.Join(filepath.Dir(main), "parts", "broken.prt")); err != nil {
			t.Skip("symbolic links unavailable:", err)
		}
		return SaveRequest{Path: main, Assembly: true}
	}, fs.ErrNotExist, errs.NotExist},
	{"assembly holding the drive", func(t *testing.T, work string, d *LocalFolder) SaveRequest {
		parent := filepath.Dir(d.Root()) // an assembly folder, by its main file
		p := filepath.Join(parent, filepath.Base(parent)+".asm")
		writeTestFile(t, p, []byte("x"))
		return SaveRequest{Path: p, Assembly: true}
	}, ErrHoldsDrive, errs.Invalid},
}

func TestSaveRefuses(t *testing.T) {
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDrive(t, LocalFolderOptions{})
			req := tt.setup(t, t.TempDir(), d)
			before := listNames(t, d)
			_, err := d.Save(context.Background(), req, nil)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %q does not wrap %q", err, tt.want)
			}
			if k := errs.KindOf(err); k != tt.kind {
				t.Errorf("error %q is of kind %v, want %v", err, k, tt.kind)
			}
			if !strings.Contains(err.Error(), filepath.Base(req.Path)) {
				t.Errorf("error %q does not name the path", err)
			}
			t.Log(err)
			if left := scratchLeft(t, d); left != nil {
				t.Errorf("left behind: %v", left)
			}
			if after := listNames(t, d); !slices.Equal(after, before) {
				t.Errorf("entries changed from %v to %v", before, after)
			}
		})
	}
}

func listNames(t testing.TB, d *LocalFolder) []string {
	t.Helper()
	files, err := d.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	return names
}

// TestSaveCancelMidCopy cancels a save once part of the file is copied: the
// temporary file goes and the live copy stays as it was.
func TestSaveCancelMidCopy(t *testing.T) {
	d := newTestDrive(t, LocalFolderOptions{})
	src := filepath.Join(t.TempDir(), "mesh.dat")
	writeTestFile(t, src, []byte("version 1"))
	first, err := d.Save(context.Background(), SaveRequest{Path: src}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sparseFile(t, src, 3*progressMinStep)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var at int64
	_, err = d.Save(ctx, SaveRequest{Path: src}, func(done, total int64) {
		if at == 0 {
			at = done
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || errs.KindOf(err) != errs.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if at == 0 || at >= 3*progressMinStep {
		t.Fatalf("cancelled at %d: not mid-copy", at)
	}
	if left := scratchLeft(t, d); left != nil {
		t.Errorf("left behind: %v", left)
	}
	if got := fileSHA(t, first.Stored); got != shaHex([]byte("version 1")) {
		t.Error("the live copy changed")
	}
	if vs := versionsOf(t, d, "mesh.dat"); vs != nil {
		t.Errorf("a cancelled save made versions %v", vs)
	}

	// Already cancelled: nothing starts.
	if _, err := d.Save(ctx, SaveRequest{Path: src}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestSaveProgress(t *testing.T) {
	tests := []struct {
		name string
		size int64
		want int // calls
	}{
		{"empty", 0, 1},
		{"small", 1000, 1},
		{"below one step", progressMinStep - 1, 1},
		{"2.5 steps", 5 * progressMinStep / 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDrive(t, LocalFolderOptions{})
			src := filepath.Join(t.TempDir(), "model.dat")
			sparseFile(t, src, tt.size)
			var calls [][2]int64
			if _, err := d.Save(context.Background(), SaveRequest{Path: src}, func(done, total int64) {
				calls = append(calls, [2]int64{done, total})
			}); err != nil {
				t.Fatal(err)
			}
			if len(calls) != tt.want {
				t.Errorf("%d calls, want %d: %v", len(calls), tt.want, calls)
			}
			if len(calls) == 0 || calls[len(calls)-1] != [2]int64{tt.size, tt.size} {
				t.Fatalf("calls %v do not end at the total", calls)
			}
			var last int64
			for i, c := range calls {
				if c[1] != tt.size || c[0] < last || c[0] > c[1] {
					t.Errorf("call %d: %v after %d", i, c, last)
				}
				if i < len(calls)-1 && c[0]-last < progressMinStep {
					t.Errorf("call %d: %v only %d bytes after the previous one", i, c, c[0]-last)
				}
				last = c[0]
			}
		})
	}
}

// TestSaveDetectsChange: a program still writing its file while it is saved
// makes the save fail rather than store a mix.
func TestSaveDetectsChange(t *testing.T) {
	d := newTestDrive(t, LocalFolderOptions{})
	src := filepath.Join(t.TempDir(), "mesh.dat")
	sparseFile(t, src, 3*progressMinStep)
	_, err := d.Save(context.Background(), SaveRequest{Path: src}, func(done, total int64) {
		if done < total {
			f, err := os.OpenFile(src, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Error(err)
				return
			}
			f.WriteString("more")
			f.Close()
		}
	})
	if !errors.Is(err, filecopy.ErrChanged) || errs.KindOf(err) != errs.Busy {
		t.Fatalf("err = %v, want ErrChanged", err)
	}
	if names := listNames(t, d); names != nil || scratchLeft(t, d) != nil {
		t.Errorf("a failed save left %v %v", names, scratchLeft(t, d))
	}
}

// TestSaveReadBack: with ReadBack, a copy that the disk changed after it was
// written and synced (a lost write, simulated through afterWrite) fails the
// save with kind Integrity, and the drive is left as it was: the live entry,
// no new version, no scratch. Without ReadBack the same damage goes unseen,
// which is what the option is for.
func TestSaveReadBack(t *testing.T) {
	data := []byte(strings.Repeat("read back ", 300000))
	// corrupt flips a byte in the middle of the copy, keeping its size, as a
	// disk that loses a write would.
	corrupt := func(f *os.File) {
		fi, err := f.Stat()
		if err != nil || fi.Size() == 0 {
			t.Errorf("corrupting %s: %v", f.Name(), err)
			return
		}
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, fi.Size()/2); err != nil {
			t.Error(err)
		}
		if _, err := f.WriteAt([]byte{^b[0]}, fi.Size()/2); err != nil {
			t.Error(err)
		}
	}
	saves := []struct {
		name string
		// make writes what to save; it returns the request, a file of it
		// and where the drive keeps that file.
		make func(t *testing.T, tag string) (req SaveRequest, src, live string)
	}{
		{"file", func(t *testing.T, tag string) (SaveRequest, string, string) {
			src := filepath.Join(t.TempDir(), "part.prt")
			writeTestFile(t, src, append([]byte(tag), data...))
			return SaveRequest{Path: src}, src, "part.prt"
		}},
		{"assembly", func(t *testing.T, tag string) (SaveRequest, string, string) {
			mainFile, _ := makeAssembly(t, t.TempDir(), tag)
			wheel := filepath.Join("parts", "gears", "wheel.prt")
			return SaveRequest{Path: mainFile, Assembly: true}, filepath.Join(filepath.Dir(mainFile), wheel), filepath.Join("gearbox", wheel)
		}},
	}
	for _, tt := range saves {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDrive(t, LocalFolderOptions{ReadBack: true})
			first, src, live := tt.make(t, "v1")
			res, err := d.Save(context.Background(), first, nil)
			if err != nil {
				t.Fatal(err)
			}
			live = filepath.Join(d.Root(), live)
			before := fileSHA(t, live)
			if before != fileSHA(t, src) {
				t.Fatal("the first save stored other bytes")
			}

			d.afterWrite = corrupt
			second, src2, rel := tt.make(t, "v2")
			_, err = d.Save(context.Background(), second, nil)
			if !errors.Is(err, filecopy.ErrVerify) || errs.KindOf(err) != errs.Integrity {
				t.Fatalf("a corrupted copy: err = %v (kind %v), want kind Integrity", err, errs.KindOf(err))
			}
			if left := scratchLeft(t, d); left != nil {
				t.Errorf("left behind: %v", left)
			}
			if got := fileSHA(t, live); got != before {
				t.Error("the live entry changed")
			}
			if vs := versionsOf(t, d, res.Name); vs != nil {
				t.Errorf("a failed save made versions %v", vs)
			}

			// The check is ReadBack's: without it the damage is stored.
			blind := newTestDrive(t, LocalFolderOptions{})
			blind.afterWrite = corrupt
			if _, err := blind.Save(context.Background(), second, nil); err != nil {
				t.Fatalf("without ReadBack: %v", err)
			}
			if fileSHA(t, filepath.Join(blind.Root(), rel)) == fileSHA(t, src2) {
				t.Error("the corruption did not reach the copy: the test proves nothing")
			}
		})
	}
}

// TestSaveConcurrent saves one name from several goroutines: every save
// succeeds and the drive ends up consistent (run with -race).
func TestSaveConcurrent(t *testing.T) {
	d := newTestDrive(t, LocalFolderOptions{KeepVersions: 3})
	work := t.TempDir()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			src := filepath.Join(work, strconv.Itoa(i), "part.prt")
			writeTestFile(t, src, fmt.Appendf(nil, "writer %d", i))
			if _, err := d.Save(context.Background(), SaveRequest{Path: src}, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	data, err := os.ReadFile(filepath.Join(d.Root(), "part.prt"))
	if err != nil || !strings.HasPrefix(string(data), "writer ") {
		t.Errorf("live file %q, %v", data, err)
	}
	if vs := versionsOf(t, d, "part.prt"); len(vs) != 3 {
		t.Errorf("versions %v, want 3", vs)
	}
}

func TestListAndOpen(t *testing.T) {
	d := newTestDrive(t, LocalFolderOptions{})
	work := t.TempDir()
	save := func(p string, assembly bool) {
		t.Helper()
		// File times may come from a coarse clock (ext4: one tick): keep
		// the saves apart so that "newest first" is well defined.
		time.Sleep(20 * time.Millisecond)
		if _, err := d.Save(context.Background(), SaveRequest{Path: p, Assembly: assembly}, nil); err != nil {
			t.Fatal(err)
		}
	}
	a := filepath.Join(work, "a.prt")
	writeTestFile(t, a, []byte("a"))
	save(a, false)
	save(a, false) // makes a version, which List must not show
	mainFile, _ := makeAssembly(t, work, "x")
	save(mainFile, true)
	b := filepath.Join(work, "b.prt")
	writeTestFile(t, b, []byte("bb"))
	save(b, false)
	// Bookkeeping and stray things List must skip.
	writeTestFile(t, filepath.Join(d.Root(), ".b.prt.tmp-123"), []byte("half"))
	writeTestFile(t, filepath.Join(d.Root(), "notes", "readme.txt"), []byte("no main file"))

	files, err := d.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, fmt.Sprintf("%s %v %d", f.Name, f.Assembly, f.Size))
	}
	want := []string{"b.prt false 2", "gearbox true " + strconv.FormatInt(folderSize(filepath.Dir(mainFile)), 10), "a.prt false 1"}
	if !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}

	f, err := d.Open(context.Background(), "b.prt")
	if err != nil || f.Path != filepath.Join(d.Root(), "b.prt") || f.Assembly {
		t.Errorf("Open(b.prt) = %+v, %v", f, err)
	}
	if _, err := d.Open(context.Background(), "missing.prt"); !errors.Is(err, fs.ErrNotExist) || errs.KindOf(err) != errs.NotExist {
		t.Errorf("Open(missing.prt): %v", err)
	}
	if _, err := d.Open(context.Background(), "notes"); !errors.Is(err, ErrNotAssembly) {
		t.Errorf("Open(notes): %v", err)
	}
	for _, name := range []string{"../x", "..", ".", "", "a/b", `a\b`, "/abs/name", ".versions", ".b.prt.tmp-123", "gearbox/gearbox.asm"} {
		if _, err := d.Open(context.Background(), name); !errors.Is(err, ErrBadName) {
			t.Errorf("Open(%q): %v, want ErrBadName", name, err)
		}
	}
}

func TestStaleScratchRemoved(t *testing.T) {
	root := filepath.Join(t.TempDir(), "drive")
	old := time.Now().Add(-2 * scratchMaxAge)
	for _, n := range []string{".a.prt.tmp-1", ".gearbox.staging-2", ".gearbox.old-3", ".b.prt.tmp-4", ".DS_Store"} {
		writeTestFile(t, filepath.Join(root, n), []byte("x"))
		if n != ".b.prt.tmp-4" {
			if err := os.Chtimes(filepath.Join(root, n), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	d, err := NewLocalFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	// The fresh one may belong to a save running in another process; the
	// system's own hidden file is not the drive's to remove.
	if left := scratchLeft(t, d); !slices.Equal(left, []string{".DS_Store", ".b.prt.tmp-4"}) {
		t.Errorf("left %v", left)
	}
}
