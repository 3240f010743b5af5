// Package fingerprint gives a program linking package sdk this machine's
// device fingerprint, the devInfo string that GetLicenseStringRequest and
// VerifyDeviceLicense take. The published rule has the program collect
// devInfo itself; this package runs the same probes as `iscdesk fingerprint`
// (package fingerprint of this module), so the string a program sends is
// the one the desktop client binds licenses to.
//
// It is apart from sdk so that programs that get devInfo some other way do
// not link the hardware probes: sdk itself stays free of them. It imports
// the probes and, through them, golang.org/x/sys only; never the GUI
// toolkit, the keyring or the licensing internals.
package fingerprint

import (
	"context"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint"
)

// DefaultTimeout bounds DevInfo when ctx has no deadline: the probes read
// sysfs, the registry or ioreg, which answer in milliseconds, but a hung
// device must not hang the program.
const DefaultTimeout = 5 * time.Second

// DevInfo returns this machine's fingerprint, `MAC|disk|board|CPU`. A part
// that cannot be read is empty, as `iscdesk fingerprint` prints it; the
// string is then still usable under the tolerance policy of
// fingerprint/devinfo. The probes stop when ctx ends (or after
// DefaultTimeout when it has no deadline).
func DevInfo(ctx context.Context) string {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	return fingerprint.Collector{}.Collect(ctx).String()
}
