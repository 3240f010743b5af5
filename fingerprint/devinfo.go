package fingerprint

import "github.com/iscdesk/iscdesk/fingerprint/devinfo"

// The fingerprint as a value lives in package devinfo, which the SDK shares
// without the probes; these names keep callers of this package whole.
type (
	// Components holds the values behind a fingerprint.
	Components = devinfo.Components
	// Fingerprint is a rendered device fingerprint.
	Fingerprint = devinfo.Fingerprint
	// Part names one of the four components.
	Part = devinfo.Part
	// Problem is a probe that could not read its part.
	Problem = devinfo.Problem
)

// The four parts, in the order of the fingerprint string.
const (
	PartMAC   = devinfo.PartMAC
	PartDisk  = devinfo.PartDisk
	PartBoard = devinfo.PartBoard
	PartCPU   = devinfo.PartCPU
)

// MaxBytes is the published maximum length of a fingerprint string.
const MaxBytes = devinfo.MaxBytes

// Parts lists the four parts in the order of the fingerprint string.
var Parts = devinfo.Parts

// Render normalises c and renders it (see devinfo.Render).
func Render(c Components) Fingerprint { return devinfo.Render(c) }

// Compare compares a stored fingerprint with the current one (see
// devinfo.Compare for the tolerance policy).
func Compare(stored, current Components) devinfo.Comparison { return devinfo.Compare(stored, current) }
