// Progress reports: the phases of an install and how bytes of the package
// file become reports (the counting is internal/filecopy's Meter and Reader).

package apps

import (
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

// progressStep is how many bytes of the package file pass between two
// progress reports (at least; see filecopy.NewMeter).
const progressStep = 1 << 20

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
