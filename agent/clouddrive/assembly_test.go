package clouddrive

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// makeAssembly writes gearbox/gearbox.asm with nested parts, an empty folder
// and, where the system allows, a link inside the assembly.
func makeAssembly(t testing.TB, parent, tag string) (mainFile string, files map[string][]byte) {
	t.Helper()
	dir := filepath.Join(parent, "gearbox")
	files = map[string][]byte{
		"gearbox.asm":            []byte("assembly " + tag),
		"parts/housing.prt":      []byte("housing " + tag),
		"parts/gears/pinion.prt": []byte("pinion " + tag),
		"parts/gears/wheel.prt":  []byte(strings.Repeat("wheel "+tag, 100000)),
	}
	for rel, data := range files {
		writeTestFile(t, filepath.Join(dir, filepath.FromSlash(rel)), data)
	}
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "gearbox.asm"), files
}

// treeOf returns the regular files (content hash), folders ("dir") and links
// ("-> target") under dir, without the manifest.
func treeOf(t testing.TB, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == "." || rel == manifestName:
		case de.IsDir():
			tree[rel] = "dir"
		case de.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			tree[rel] = "-> " + filepath.ToSlash(target)
		default:
			tree[rel] = fileSHA(t, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func TestSaveAssembly(t *testing.T) {
	d := newTestDrive(t, LocalFolderOptions{})
	work := t.TempDir()
	mainFile, files := makeAssembly(t, work, "v1")
	hasLink := os.Symlink(filepath.Join("..", "..", "gearbox.asm"), filepath.Join(work, "gearbox", "parts", "gears", "top.asm")) == nil
	var total int64
	for _, data := range files {
		total += int64(len(data))
	}

	var calls [][2]int64
	res, err := d.Save(context.Background(), SaveRequest{Path: mainFile, Assembly: true}, func(done, total int64) {
		calls = append(calls, [2]int64{done, total})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := SaveResult{Name: "gearbox", Stored: filepath.Join(d.Root(), "gearbox"), Bytes: total, SHA256: shaHex(files["gearbox.asm"])}
	if res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	if len(calls) != 1 || calls[0] != [2]int64{total, total} {
		t.Errorf("progress calls %v, want one at the end", calls)
	}
	if got, want := treeOf(t, res.Stored), treeOf(t, filepath.Dir(mainFile)); !mapsEqual(got, want) {
		t.Errorf("stored tree\n%v\nwant\n%v", got, want)
	}
	if hasLink {
		if data, err := os.ReadFile(filepath.Join(res.Stored, "parts", "gears", "top.asm")); err != nil || string(data) != "assembly v1" {
			t.Errorf("link in the stored assembly reads %q, %v", data, err)
		}
	}

	// A second save keeps the first as a version, whole.
	writeTestFile(t, mainFile, []byte("assembly v2"))
	writeTestFile(t, filepath.Join(work, "gearbox", "parts", "new.prt"), []byte("new part"))
	res2, err := d.Save(context.Background(), SaveRequest{Path: mainFile, Assembly: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Previous == "" {
		t.Fatal("no previous version kept")
	}
	if got, want := treeOf(t, res2.Stored), treeOf(t, filepath.Dir(mainFile)); !mapsEqual(got, want) {
		t.Errorf("second save: stored tree\n%v\nwant\n%v", got, want)
	}
	if got := fileSHA(t, filepath.Join(res2.Previous, "gearbox.asm")); got != shaHex([]byte("assembly v1")) {
		t.Error("the previous version does not hold the first save")
	}
	if _, err := os.Stat(filepath.Join(res2.Previous, "parts", "new.prt")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("the previous version holds a file of the second save")
	}
	if left := scratchLeft(t, d); left != nil {
		t.Errorf("left behind: %v", left)
	}

	f, err := d.Open(context.Background(), "gearbox")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Assembly || f.Path != filepath.Join(d.Root(), "gearbox", "gearbox.asm") || f.Size != res2.Bytes {
		t.Errorf("Open = %+v", f)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A program that opened an entry of the drive saves it back in place.
func TestSaveBackFromDrive(t *testing.T) {
	d := newTestDrive(t, LocalFolderOptions{})
	mainFile, _ := makeAssembly(t, t.TempDir(), "v1")
	if _, err := d.Save(context.Background(), SaveRequest{Path: mainFile, Assembly: true}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := d.Open(context.Background(), "gearbox")
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, f.Path, []byte("edited in the drive"))
	res, err := d.Save(context.Background(), SaveRequest{Path: f.Path, Assembly: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fileSHA(t, f.Path); got != shaHex([]byte("edited in the drive")) || res.SHA256 != got {
		t.Error("saving back from the drive lost the edit")
	}

	plain := filepath.Join(t.TempDir(), "plate.prt")
	writeTestFile(t, plain, []byte("plate"))
	if _, err := d.Save(context.Background(), SaveRequest{Path: plain}, nil); err != nil {
		t.Fatal(err)
	}
	stored := filepath.Join(d.Root(), "plate.prt")
	writeTestFile(t, stored, []byte("plate, edited"))
	if _, err := d.Save(context.Background(), SaveRequest{Path: stored}, nil); err != nil {
		t.Fatal(err)
	}
	if got := fileSHA(t, stored); got != shaHex([]byte("plate, edited")) {
		t.Error("saving a drive file back onto itself lost it")
	}
}

func TestSaveCancelAssembly(t *testing.T) {
	d := newTestDrive(t, LocalFolderOptions{})
	mainFile, _ := makeAssembly(t, t.TempDir(), "v1")
	if _, err := d.Save(context.Background(), SaveRequest{Path: mainFile, Assembly: true}, nil); err != nil {
		t.Fatal(err)
	}
	before := treeOf(t, filepath.Join(d.Root(), "gearbox"))
	sparseFile(t, filepath.Join(filepath.Dir(mainFile), "parts", "big.dat"), 3*progressMinStep)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := d.Save(ctx, SaveRequest{Path: mainFile, Assembly: true}, func(int64, int64) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if left := scratchLeft(t, d); left != nil {
		t.Errorf("left behind: %v", left)
	}
	if after := treeOf(t, filepath.Join(d.Root(), "gearbox")); !mapsEqual(after, before) {
		t.Error("the live assembly changed")
	}
}

// A folder put into the drive by hand, without a manifest, is an assembly if
// it holds a file named like it.
func TestListHandMadeAssembly(t *testing.T) {
	d := newTestDrive(t, LocalFolderOptions{})
	writeTestFile(t, filepath.Join(d.Root(), "Pump", "pump.asm"), []byte("pump"))
	writeTestFile(t, filepath.Join(d.Root(), "Pump", "impeller.prt"), []byte("impeller"))
	f, err := d.Open(context.Background(), "Pump")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Assembly || f.Path != filepath.Join(d.Root(), "Pump", "pump.asm") || f.Size != 12 {
		t.Errorf("Open(Pump) = %+v", f)
	}
}

func TestAssemblyFolderRule(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"gearbox/gearbox.asm", true},
		{"Gearbox/gearbox.ASM", true},
		{"gearbox.asm/gearbox.asm", true},
		{"gearbox/gearbox", true},
		{"gearbox/gearbox.tar.gz", false}, // the extension is the last one only
		{"gearbox.tar/gearbox.tar.gz", true},
		{"gear/gearbox.asm", false},
		{"projects/gearbox.asm", false},
		{".hidden/.hidden", false},
	}
	for _, tt := range tests {
		_, _, err := assemblyFolder(filepath.Join(t.TempDir(), filepath.FromSlash(tt.path)))
		if (err == nil) != tt.ok {
			t.Errorf("assemblyFolder(%s): %v, want ok=%v", tt.path, err, tt.ok)
		}
	}
}
