package fingerprint

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testCPU stands in for the CPU id, which never comes from a tree.
const testCPU = "BFEBFBFF000906EA"

func treeCollector(tree string) Collector {
	return Collector{
		Root:  filepath.Join("testdata", tree),
		CPUID: func() (string, error) { return testCPU, nil },
	}
}

// TestGoldenTrees collects each fake system tree and compares the result with
// testdata/<tree>.golden.json (refresh with -update).
func TestGoldenTrees(t *testing.T) {
	for _, tree := range []string{"workstation", "vm", "container", "server", "manynics"} {
		t.Run(tree, func(t *testing.T) {
			f := treeCollector(tree).Collect(context.Background())
			if len(f.Problems) > 0 {
				t.Errorf("problems: %v", f.Problems)
			}
			got, err := json.MarshalIndent(f, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", tree+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", tree, got, want)
			}
		})
	}
}

// The rules behind the goldens, spelled out so a wrong golden cannot hide them.
func TestWorkstationRules(t *testing.T) {
	f := treeCollector("workstation").Collect(context.Background())
	want := "3C:52:82:5A:0E:11,A0:36:9F:4B:77:E2|S4EWNX0R123456,WD-WCC4E1234567|/7XYZ123/CN1296377B0042/|" + testCPU
	if f.String() != want {
		t.Errorf("got  %s\nwant %s", f, want)
	}
	for _, left := range []string{"02:42:AC", "AE:11:22", "A0:36:9F:00:00:01", "4C5300", "USBHDD"} {
		if strings.Contains(f.String(), left) {
			t.Errorf("%s should have been left out: %s", left, f)
		}
	}
}

func TestVMAndContainer(t *testing.T) {
	if got := treeCollector("vm").Collect(context.Background()).String(); got != "52:54:00:12:34:56|||"+testCPU {
		t.Errorf("vm: %s", got)
	}
	if got := treeCollector("container").Collect(context.Background()).String(); got != "|||"+testCPU {
		t.Errorf("container: %s", got)
	}
	if got := treeCollector("server").Collect(context.Background()).String(); got !=
		"B4:96:91:7C:11:00,B4:96:91:7C:11:01|ZA1B2C3D0000000,ZA1B2C3D0000001||"+testCPU {
		t.Errorf("server: %s", got)
	}
}

func TestManyNICsTruncated(t *testing.T) {
	f := treeCollector("manynics").Collect(context.Background())
	if !f.Truncated || f.Bytes() > devinfo.MaxBytes || f.Components.Board != "MB-0042-7731" ||
		len(f.Components.Disk) != 1 || len(f.Components.MAC) >= 300 {
		t.Errorf("truncated=%v bytes=%d macs=%d disks=%v board=%q",
			f.Truncated, f.Bytes(), len(f.Components.MAC), f.Components.Disk, f.Components.Board)
	}
}

// A board serial only root may read is left out, so that root and other users
// get one string.
func TestBoardRootOnly(t *testing.T) {
	root := t.TempDir()
	id := filepath.Join(root, "sys/class/dmi/id")
	if err := os.MkdirAll(id, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(id, "board_serial"), []byte("SECRETBOARD\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	f := Collector{Root: root, CPUID: func() (string, error) { return testCPU, nil }}.Collect(context.Background())
	if f.Components.Board != "" || !strings.Contains(f.Sources[devinfo.PartBoard], "root only") {
		t.Errorf("board = %q, source %q", f.Components.Board, f.Sources[devinfo.PartBoard])
	}
	// Missing /sys/class/net and /sys/block are problems, not failures.
	if f.String() != "|||"+testCPU || len(f.Problems) != 2 {
		t.Errorf("got %s, problems %v", f, f.Problems)
	}
}

// A probe that hangs does not hold up the fingerprint past the deadline.
func TestCollectDeadline(t *testing.T) {
	c := Collector{Root: filepath.Join("testdata", "vm"), CPUID: func() (string, error) {
		time.Sleep(2 * time.Second)
		return testCPU, nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	f := c.Collect(ctx)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Collect took %v", d)
	}
	if f.String() != "52:54:00:12:34:56|||" || len(f.Problems) != 1 || f.Problems[0].Part != devinfo.PartCPU {
		t.Errorf("got %s, problems %v", f, f.Problems)
	}
}

func TestCollectThisMachineIsStable(t *testing.T) {
	a := Collector{}.Collect(context.Background())
	b := Collector{}.Collect(context.Background())
	if a.String() != b.String() {
		t.Errorf("two runs differ:\n%s\n%s", a, b)
	}
}

func TestParseVPD80(t *testing.T) {
	for in, want := range map[string]string{
		"\x00\x80\x00\x05ABCDE":          "ABCDE",
		"\x00\x80\x00\x08  XY12\x00\x00": "XY12",
		"\x00\x80\x00\xffSHORT":          "SHORT",
		"\x00\x83\x00\x05ABCDE":          "",
		"\x00\x80":                       "",
	} {
		if got := parseVPD80([]byte(in)); got != want {
			t.Errorf("parseVPD80(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkCollect measures a full collection of this machine.
func BenchmarkCollect(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		Collector{}.Collect(ctx)
	}
}

// BenchmarkCollectScript gathers the same facts the way a shell script would:
// ip link, lsblk and cat as subprocesses. It is the reference for the ratio
// in the README.
func BenchmarkCollectScript(b *testing.B) {
	for _, tool := range []string{"ip", "lsblk", "cat"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s not installed", tool)
		}
	}
	for b.Loop() {
		for _, args := range [][]string{
			{"ip", "-o", "link", "show"},
			{"lsblk", "-dno", "NAME,SERIAL,RM,TYPE"},
			{"cat", "/sys/class/dmi/id/board_serial"},
			{"cat", "/proc/cpuinfo"},
		} {
			_ = exec.Command(args[0], args[1:]...).Run() // board_serial may be unreadable: the work is the same
		}
	}
}
