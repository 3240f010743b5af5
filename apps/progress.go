// Progress reports: the phases of an install and the reader that counts the
// bytes of the package file as it is unpacked.

package apps

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/iscdesk/iscdesk/internal/download"
)

// Phase names a step of an install or uninstall.
type Phase string

// The phases, in the order an install goes through them.
const (
	PhaseDownload  Phase = "download"  // bytes of the package file received
	PhaseVerify    Phase = "verify"    // bytes hashed for the SHA-256 check
	PhaseUnpack    Phase = "unpack"    // bytes of the package file unpacked
	PhaseInstall   Phase = "install"   // the vendor's install script runs
	PhaseUninstall Phase = "uninstall" // the vendor's uninstall script runs
)

// Progress reports how far a phase is. Done and Total count bytes of the
// package file; Total is -1 when unknown and 0 for the script phases, whose
// progress is not measurable from outside.
type Progress struct {
	Phase       Phase
	Done, Total int64
}

// Percent is Done as a whole percentage of Total, or -1 when Total is not
// known.
func (p Progress) Percent() int {
	if p.Total <= 0 {
		return -1
	}
	return int(min(100, p.Done*100/p.Total))
}

// progressReader counts the bytes read through it and stops on
// cancellation, so that long copies can be interrupted. It reports progress
// about every megabyte from Read, or, when another goroutine reads it (see
// readAhead), from the consumer through maybeReport.
type progressReader struct {
	ctx      context.Context
	r        io.Reader
	phase    Phase
	total    int64
	progress func(Progress)
	// quiet leaves reporting to maybeReport.
	quiet bool

	done     atomic.Int64
	reported int64 // touched only by the reporting goroutine
}

const progressStep = 1 << 20

func (p *progressReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.r.Read(b)
	p.done.Add(int64(n))
	if !p.quiet {
		p.maybeReport()
	}
	return n, err
}

func (p *progressReader) maybeReport() {
	if p.done.Load()-p.reported >= progressStep {
		p.report()
	}
}

func (p *progressReader) report() {
	p.reported = p.done.Load()
	p.progress(Progress{Phase: p.phase, Done: p.reported, Total: p.total})
}

// reportingReader reports a quiet progressReader's count as its consumer
// reads.
type reportingReader struct {
	r  io.Reader
	pr *progressReader
}

func (r reportingReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.pr.maybeReport()
	return n, err
}

// downloadProgress reports a download's progress as the install's.
func downloadProgress(progress func(Progress)) func(download.Progress) {
	return func(p download.Progress) {
		phase := PhaseDownload
		if p.Verifying {
			phase = PhaseVerify
		}
		progress(Progress{Phase: phase, Done: p.Done, Total: p.Total})
	}
}
