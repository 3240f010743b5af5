package clouddrive

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// randomFile writes size bytes of incompressible data, so no file system or
// disk layer can shortcut the copies being measured.
func randomFile(t testing.TB, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 1<<20)
	for written := int64(0); written < size; {
		n := min(int64(len(buf)), size-written)
		_, _ = rng.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
		written += n
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func fsyncFile(t testing.TB, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSave16MiB saves a 16 MiB file (with the default version keeping)
// against cp of the same file, with and without an fsync of the copy.
func BenchmarkSave16MiB(b *testing.B) {
	const size = 16 << 20
	work := b.TempDir()
	src := filepath.Join(work, "model.bin")
	randomFile(b, src, size)
	b.Run("LocalFolder", func(b *testing.B) {
		d := newTestDrive(b, LocalFolderOptions{})
		b.SetBytes(size)
		for b.Loop() {
			if _, err := d.Save(context.Background(), SaveRequest{Path: src}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, withSync := range []bool{false, true} {
		name := "cp"
		if withSync {
			name = "cp+fsync"
		}
		b.Run(name, func(b *testing.B) {
			cp, err := exec.LookPath("cp")
			if err != nil {
				b.Skip("no cp")
			}
			dst := filepath.Join(b.TempDir(), "copy.bin")
			b.SetBytes(size)
			for b.Loop() {
				if out, err := exec.Command(cp, src, dst).CombinedOutput(); err != nil {
					b.Fatalf("cp: %v %s", err, out)
				}
				if withSync {
					fsyncFile(b, dst)
				}
			}
		})
	}
}

// BenchmarkSave1GiB measures LocalFolder.Save of a 1 GiB file against cp of
// the same file on the same file system (alone, and followed by an fsync of
// the copy, which is what Save guarantees), in alternation, a few rounds
// each, and the agent's peak memory growth during the saves. It writes
// several GiB, so it runs only with ISCDESK_BENCH_LARGE=1:
//
//	ISCDESK_BENCH_LARGE=1 go test -run '^$' -bench Save1GiB -benchtime 1x ./agent/clouddrive
func BenchmarkSave1GiB(b *testing.B) {
	if os.Getenv("ISCDESK_BENCH_LARGE") != "1" {
		b.Skip("set ISCDESK_BENCH_LARGE=1 to run (writes several GiB)")
	}
	cp, err := exec.LookPath("cp")
	if err != nil {
		b.Skip("no cp")
	}
	const size = 1 << 30
	const rounds = 5
	work := b.TempDir()
	src := filepath.Join(work, "model.bin")
	randomFile(b, src, size)
	dst := filepath.Join(work, "copy.bin")
	plain := newTestDrive(b, LocalFolderOptions{})
	readBack := newTestDrive(b, LocalFolderOptions{ReadBack: true})
	// Every run starts with no dirty pages, so none pays for another's
	// writeback.
	settle := func() {
		if syncCmd, err := exec.LookPath("sync"); err == nil {
			_ = exec.Command(syncCmd).Run()
		}
		time.Sleep(200 * time.Millisecond)
	}
	clearDrive := func(d *LocalFolder) {
		os.Remove(filepath.Join(d.Root(), "model.bin"))
		os.RemoveAll(filepath.Join(d.Root(), versionsDir))
	}
	var tCp, tCpSync, tSave, tReadBack []time.Duration
	baseRSS, resetPeak := startPeakRSS()
	var memBefore runtime.MemStats
	runtime.ReadMemStats(&memBefore)
	b.ResetTimer()
	for range b.N {
		for range rounds {
			settle()
			start := time.Now()
			if out, err := exec.Command(cp, src, dst).CombinedOutput(); err != nil {
				b.Fatalf("cp: %v %s", err, out)
			}
			tCp = append(tCp, time.Since(start))
			fsyncFile(b, dst)
			tCpSync = append(tCpSync, time.Since(start))
			os.Remove(dst)

			for _, d := range []*LocalFolder{plain, readBack} {
				settle()
				start = time.Now()
				if _, err := d.Save(context.Background(), SaveRequest{Path: src}, nil); err != nil {
					b.Fatal(err)
				}
				if d == plain {
					tSave = append(tSave, time.Since(start))
				} else {
					tReadBack = append(tReadBack, time.Since(start))
				}
				clearDrive(d)
			}
		}
	}
	b.StopTimer()
	// Medians, and the best runs: the page cache and the disk of a
	// virtual machine make single runs of cp vary several times over.
	mbps := func(ts []time.Duration) float64 {
		slices.Sort(ts)
		return float64(size) / ts[len(ts)/2].Seconds() / 1e6
	}
	best := func(ts []time.Duration) float64 { return float64(size) / slices.Min(ts).Seconds() / 1e6 }
	save, cpRate, cpSync, rb := mbps(tSave), mbps(tCp), mbps(tCpSync), mbps(tReadBack)
	b.ReportMetric(save, "save-MB/s")
	b.ReportMetric(rb, "save-readback-MB/s")
	b.ReportMetric(cpRate, "cp-MB/s")
	b.ReportMetric(cpSync, "cp+fsync-MB/s")
	b.ReportMetric(save/cpRate, "ratio-vs-cp")
	b.ReportMetric(save/cpSync, "ratio-vs-cp+fsync")
	b.ReportMetric(best(tSave)/best(tCp), "best-ratio-vs-cp")
	b.ReportMetric(best(tSave)/best(tCpSync), "best-ratio-vs-cp+fsync")
	if peak, ok := peakRSS(); ok && resetPeak {
		b.ReportMetric(float64(peak-baseRSS)/(1<<20), "peak-RSS-growth-MiB")
	} else {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.ReportMetric(float64(m.Sys-memBefore.Sys)/(1<<20), "Go-Sys-growth-MiB")
	}
	b.Logf("%d rounds: save %v, save+readback %v, cp %v, cp+fsync %v", rounds*b.N, tSave, tReadBack, tCp, tCpSync)
}

// startPeakRSS resets the kernel's peak RSS mark of this process (Linux,
// /proc/self/clear_refs) and returns the current RSS in bytes; resetPeak
// reports whether the peak could be reset.
func startPeakRSS() (rss int64, resetPeak bool) {
	resetPeak = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	rss, _ = procStatus("VmRSS:")
	return rss, resetPeak
}

func peakRSS() (int64, bool) { return procStatus("VmHWM:") }

// procStatus reads a "kB" field of /proc/self/status in bytes.
func procStatus(field string) (int64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
