package fingerprint

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
)

// DefaultTimeout bounds a whole collection when the caller's context has no
// deadline of its own.
const DefaultTimeout = 3 * time.Second

// Collector probes the hardware of the running machine.
// The zero value probes this machine below "/".
type Collector struct {
	// Root is the directory below which file-based sources (Linux sysfs, the
	// udev database, procfs) are read: "" or "/" for this machine, another
	// folder for a container that mounts the host's /sys and /run/udev there,
	// or a fake tree in tests. Other systems ignore it.
	Root string
	// CPUID returns the CPU id; nil reads this CPU. The CPU id never comes
	// from Root (a container's CPU is the host's), so tests set this.
	CPUID func() (string, error)
}

// probe reads one part. values holds one value for board and CPU.
type probe struct {
	part devinfo.Part
	read func(ctx context.Context) (values []string, source string, err error)
}

type probeResult struct {
	part   devinfo.Part
	values []string
	source string
	err    error
}

// ErrNotSupported is returned by probes that do not exist on this system.
var ErrNotSupported = errors.New("not supported on this system")

// Collect probes every part concurrently and renders the fingerprint. A probe
// that fails or is still running when ctx ends leaves its part empty and is
// listed in Problems: one part never fails the whole fingerprint. Without a
// deadline on ctx, DefaultTimeout applies.
func (c Collector) Collect(ctx context.Context) devinfo.Fingerprint {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	probes := c.probes()
	results := make(chan probeResult, len(probes))
	for _, p := range probes {
		go func() {
			r := probeResult{part: p.part}
			defer func() {
				if v := recover(); v != nil {
					r.err = fmt.Errorf("probe panicked: %v", v)
				}
				results <- r
			}()
			r.values, r.source, r.err = p.read(ctx)
		}()
	}

	var raw devinfo.Components
	sources := map[devinfo.Part]string{}
	var problems []devinfo.Problem
	done := map[devinfo.Part]bool{}
	for range probes {
		var r probeResult
		select {
		case r = <-results:
		case <-ctx.Done():
			select { // a result that is already in wins over the deadline
			case r = <-results:
			default:
			}
		}
		if r.part == "" { // ctx ended first
			break
		}
		done[r.part] = true
		if r.err != nil {
			problems = append(problems, devinfo.Problem{Part: r.part, Err: r.err})
		}
		if r.source != "" {
			sources[r.part] = r.source
		}
		switch r.part {
		case devinfo.PartMAC:
			raw.MAC = r.values
		case devinfo.PartDisk:
			raw.Disk = r.values
		case devinfo.PartBoard:
			raw.Board = strings.Join(r.values, "")
		case devinfo.PartCPU:
			raw.CPU = strings.Join(r.values, "")
		}
	}
	for _, p := range probes {
		if !done[p.part] {
			problems = append(problems, devinfo.Problem{Part: p.part, Err: fmt.Errorf("probe did not finish: %w", ctx.Err())})
		}
	}
	f := devinfo.Render(raw)
	f.Sources = sources
	f.Problems = problems
	return f
}

// cpuProbe reads the CPU id through c.CPUID or from this CPU.
func (c Collector) cpuProbe() probe {
	return probe{part: devinfo.PartCPU, read: func(context.Context) ([]string, string, error) {
		read, source := c.CPUID, "injected"
		if read == nil {
			read, source = cpuID, cpuIDSource
		}
		id, err := read()
		if err != nil {
			return nil, "", err
		}
		return []string{id}, source, nil
	}}
}
