package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/fingerprint/osid"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
)

// LicenseSource issues device licenses: compact JWS tokens, signed with the
// vendor's Ed25519 key, bound to the program's devInfo.
type LicenseSource interface {
	Issue(ctx context.Context, devInfo string) (token string, err error)
}

// ManagedLicenses is the default LicenseSource: it issues a device license
// only for this machine, only while the cached activation of this machine
// is valid, and never past the license's expiry or the end of the offline
// grace period. Service is the process's one license service, which asks
// the vendor license server that holds the activation, signed by the
// device key.
type ManagedLicenses struct {
	Service *licensing.Service
	// Fingerprint collects this machine's fingerprint, which a devInfo must
	// match; nil means the license service's.
	Fingerprint func(ctx context.Context) devinfo.Fingerprint
	// MachineID returns this machine's protected OS machine id for a license
	// code, bound as a second factor with a devInfo that has a single unit
	// part; nil means osid.DeviceLicenseID.
	MachineID func(license string) (string, error)
}

var _ LicenseSource = ManagedLicenses{}

// opDeviceLicense names the failures of Issue.
const opDeviceLicense = "device license"

// Issue checks that devInfo is this machine's (see forThisMachine), checks
// the cached activation (which also starts the daily online check in the
// background on the first use of a day), then asks the license server.
func (l ManagedLicenses) Issue(ctx context.Context, devInfo string) (string, error) {
	return l.IssueUnder(ctx, devInfo, nil)
}

// IssueUnder is Issue under a lease the program holds (nil: none), which a
// floating license needs: without one the server refuses with reason
// no_lease. A lease borrowed on this machine (`iscdesk lease borrow`)
// serves instead while it lasts, with no server: its device license, bound
// to this machine, ends with the borrow.
func (l ManagedLicenses) IssueUnder(ctx context.Context, devInfo string, lease *licensing.Lease) (string, error) {
	if l.Service == nil {
		return "", errNotConfigured("the license service")
	}
	requested, err := l.forThisMachine(ctx, devInfo)
	if err != nil {
		return "", err
	}
	st, err := l.Service.Check(ctx, nil)
	if err != nil {
		return "", err
	}
	if !st.Verdict.Valid() {
		return "", st.Verdict.Err
	}
	if b, ok, err := l.Service.Borrowed(ctx); err == nil && ok && b.License != "" {
		return b.License, nil
	}
	notAfter := st.Record.ExpireTime
	if graceEnd := time.Now().Add(st.Verdict.GraceLeft); notAfter.IsZero() || graceEnd.Before(notAfter) {
		notAfter = graceEnd
	}
	req := licensing.DeviceLicenseRequest{DevInfo: devInfo, NotAfter: notAfter}
	if lease != nil {
		req.LeaseID = lease.ID
	}
	if requested.NeedsMachineID() {
		if req.Machine, err = l.machineID(st.Record.License); err != nil {
			return "", errs.E(opDeviceLicense, errs.WrongMachine, fmt.Errorf(
				"devInfo names a single network card, disk or board, so the license must bind this machine's OS id too, and it cannot be read: %w", err))
		}
	}
	return l.Service.DeviceLicense(ctx, req)
}

// forThisMachine parses devInfo and refuses, with kind WrongMachine, one that
// is not this machine's fingerprint: one that names a value this machine
// does not have (devinfo.Foreign: a request read at the same moment as this
// machine's fingerprint has nothing to tolerate, and a request mixing in
// other machines' values would verify on them too), or one that
// devinfo.Compare would not accept as this machine (no unit part). A devInfo
// may leave parts out: a program may read less than the agent.
func (l ManagedLicenses) forThisMachine(ctx context.Context, devInfo string) (devinfo.Components, error) {
	requested, err := devinfo.Parse(devInfo)
	if err != nil {
		return requested, errs.E(opDeviceLicense, errs.Invalid, err)
	}
	collect := l.Fingerprint
	if collect == nil && l.Service != nil {
		collect = l.Service.Fingerprint
	}
	if collect == nil {
		return requested, errNotConfigured("this machine's fingerprint")
	}
	own := collect(ctx).Components
	if foreign := devinfo.Foreign(requested, own); len(foreign) > 0 {
		names := make([]string, len(foreign))
		for i, p := range foreign {
			names[i] = string(p)
		}
		what := "part " + names[0] + " holds a value"
		if len(names) > 1 {
			what = "parts " + strings.Join(names, ", ") + " hold values"
		}
		return requested, errs.E(opDeviceLicense, errs.WrongMachine, fmt.Errorf(
			"devInfo is not this machine's fingerprint: its %s this machine does not have (compare with `iscdesk fingerprint`)", what))
	}
	if cmp := devinfo.Compare(requested, own); !cmp.SameMachine {
		return requested, errs.E(opDeviceLicense, errs.WrongMachine, errors.New("devInfo cannot bind a license: "+cmp.Reason()))
	}
	return requested, nil
}

func (l ManagedLicenses) machineID(license string) (string, error) {
	if l.MachineID != nil {
		return l.MachineID(license)
	}
	return osid.DeviceLicenseID(license)
}

var _ LeasingSource = ManagedLicenses{}

// TakeLease implements LeasingSource.
func (l ManagedLicenses) TakeLease(ctx context.Context, app string) (licensing.Lease, error) {
	if l.Service == nil {
		return licensing.Lease{}, errNotConfigured("the license service")
	}
	return l.Service.TakeLease(ctx, app)
}

// Heartbeat implements LeasingSource.
func (l ManagedLicenses) Heartbeat(ctx context.Context, lease licensing.Lease) (time.Time, error) {
	if l.Service == nil {
		return time.Time{}, errNotConfigured("the license service")
	}
	return l.Service.Heartbeat(ctx, lease)
}

// ReturnLease implements LeasingSource.
func (l ManagedLicenses) ReturnLease(ctx context.Context, lease licensing.Lease) error {
	if l.Service == nil {
		return errNotConfigured("the license service")
	}
	return l.Service.ReturnLease(ctx, lease)
}
