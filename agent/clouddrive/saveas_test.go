package clouddrive

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/safename"
)

var saveAsCases = []struct {
	name      string
	req       SaveAsRequest
	entry     string // "" : refused
	inDrive   string // the path below the root, slash-separated
	assembled bool
}{
	{name: "file", req: SaveAsRequest{FileName: "bracket.prt"}, entry: "bracket.prt", inDrive: "bracket.prt"},
	{name: "chinese", req: SaveAsRequest{FileName: "齿轮箱.prt"}, entry: "齿轮箱.prt", inDrive: "齿轮箱.prt"},
	{name: "assembly", req: SaveAsRequest{FileName: "gearbox.asm", Assembly: true}, entry: "gearbox", inDrive: "gearbox/gearbox.asm"},
	{name: "assembly without extension", req: SaveAsRequest{FileName: "gearbox", Assembly: true}, entry: "gearbox", inDrive: "gearbox/gearbox"},
	{name: "empty", req: SaveAsRequest{}},
	{name: "parent", req: SaveAsRequest{FileName: ".."}},
	{name: "path", req: SaveAsRequest{FileName: "../../etc/passwd"}},
	{name: "absolute", req: SaveAsRequest{FileName: "/etc/passwd"}},
	{name: "windows path", req: SaveAsRequest{FileName: `..\x.prt`}},
	{name: "drive's own", req: SaveAsRequest{FileName: ".versions"}},
	{name: "device", req: SaveAsRequest{FileName: "CON.prt"}},
	{name: "control", req: SaveAsRequest{FileName: "a\nb.prt"}},
	{name: "not UTF-8", req: SaveAsRequest{FileName: "a\xffb.prt"}},
	{name: "assembly folder a device", req: SaveAsRequest{FileName: "nul.asm", Assembly: true}},
	{name: "assembly folder ends with a space", req: SaveAsRequest{FileName: "gear .asm", Assembly: true}},
}

func TestSaveAsTarget(t *testing.T) {
	d := newTestDrive(t, LocalFolderOptions{})
	for _, tc := range saveAsCases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := d.SaveAsTarget(tc.req)
			if tc.entry == "" {
				if !errors.Is(err, ErrBadName) || errs.KindOf(err) != errs.Invalid {
					t.Fatalf("SaveAsTarget(%q) = %+v, %v; want ErrBadName of kind Invalid", tc.req.FileName, f, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(d.Root(), filepath.FromSlash(tc.inDrive))
			if f.Name != tc.entry || f.Path != want || f.Assembly != tc.req.Assembly {
				t.Fatalf("SaveAsTarget(%+v) = %+v; want entry %q at %s", tc.req, f, tc.entry, want)
			}
		})
	}
}

// What SaveAsTarget says is where Save then stores the file, and an entry
// of the other kind is refused as Save would refuse it.
func TestSaveAsTargetIsWhereSaveStores(t *testing.T) {
	d := newTestDrive(t, LocalFolderOptions{})
	ctx := context.Background()
	work := t.TempDir()
	target, err := d.SaveAsTarget(SaveAsRequest{FileName: "bracket.prt"})
	if err != nil || !target.Modified.IsZero() {
		t.Fatalf("new name: %+v %v", target, err)
	}
	writeTestFile(t, filepath.Join(work, "bracket.prt"), []byte("part"))
	res, err := d.Save(ctx, SaveRequest{Path: filepath.Join(work, "bracket.prt")}, nil)
	if err != nil || res.Stored != target.Path {
		t.Fatalf("saved to %q (%v), save-as said %q", res.Stored, err, target.Path)
	}
	asm, err := d.SaveAsTarget(SaveAsRequest{FileName: "gearbox.asm", Assembly: true})
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(work, "gearbox", "gearbox.asm"), []byte("assembly"))
	if _, err := d.Save(ctx, SaveRequest{Path: filepath.Join(work, "gearbox", "gearbox.asm"), Assembly: true}, nil); err != nil {
		t.Fatal(err)
	}
	opened, err := d.Open(ctx, "gearbox")
	if err != nil || opened.Path != asm.Path {
		t.Fatalf("opened %+v (%v), save-as said %q", opened, err, asm.Path)
	}

	// Existing entries are described; the other kind is refused.
	if again, err := d.SaveAsTarget(SaveAsRequest{FileName: "bracket.prt"}); err != nil || again.Size != 4 || again.Modified.IsZero() {
		t.Fatalf("existing file: %+v %v", again, err)
	}
	if _, err := d.SaveAsTarget(SaveAsRequest{FileName: "bracket.prt.asm", Assembly: true}); !errors.Is(err, ErrNameTaken) || errs.KindOf(err) != errs.Invalid {
		t.Fatalf("an assembly where a file is: %v", err)
	}
	if _, err := d.SaveAsTarget(SaveAsRequest{FileName: "gearbox"}); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("a file where an assembly is: %v", err)
	}
}

// Whatever the name, an accepted one lands directly in the drive (or in its
// assembly's folder there) under a name safename accepts.
func FuzzSaveAsTarget(f *testing.F) {
	for _, tc := range saveAsCases {
		f.Add(tc.req.FileName, tc.req.Assembly)
	}
	d := newTestDrive(f, LocalFolderOptions{})
	f.Fuzz(func(t *testing.T, name string, assembly bool) {
		got, err := d.SaveAsTarget(SaveAsRequest{FileName: name, Assembly: assembly})
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("%q: error of kind %v: %v", name, errs.KindOf(err), err)
			}
			return
		}
		if got.Name == "" || safename.Check(got.Name) != nil || safename.Check(filepath.Base(got.Path)) != nil || filepath.Base(got.Path) != name {
			t.Fatalf("%q: unsafe target %+v", name, got)
		}
		entry := filepath.Join(d.Root(), got.Name)
		want := entry
		if assembly {
			want = filepath.Join(entry, name)
		}
		if got.Path != want || filepath.Dir(entry) != d.Root() {
			t.Fatalf("%q: target %s is not %s directly in the drive", name, got.Path, want)
		}
	})
}
