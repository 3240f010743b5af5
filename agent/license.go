package agent

import (
	"context"
	"time"

	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
)

// LicenseSource issues device licenses: compact JWS tokens, signed with the
// vendor's Ed25519 key, bound to the program's devInfo.
type LicenseSource interface {
	Issue(ctx context.Context, devInfo string) (token string, err error)
}

// Issuer signs device licenses for a license code: the sandbox in sandbox
// mode, a vendor license gateway otherwise (marketplace.Client speaks to
// both).
type Issuer interface {
	IssueDeviceLicense(ctx context.Context, req marketplace.DeviceLicenseRequest) (string, error)
}

// ManagedLicenses is the default LicenseSource: it issues a device license
// only while the cached authorization of this machine is valid, and never
// past the license's expiry or the end of the offline grace period. Service
// is the process's one license service.
type ManagedLicenses struct {
	Service *licensing.Service
	Issuer  Issuer
}

var _ LicenseSource = ManagedLicenses{}

// Issue checks the cached authorization (which also starts the daily online
// check in the background on the first use of a day), then asks the issuer.
func (l ManagedLicenses) Issue(ctx context.Context, devInfo string) (string, error) {
	st, err := l.Service.Check(ctx, nil)
	if err != nil {
		return "", err
	}
	if !st.Verdict.Valid() {
		return "", st.Verdict.Err
	}
	notAfter := st.Record.ExpireTime
	if graceEnd := time.Now().Add(st.Verdict.GraceLeft); notAfter.IsZero() || graceEnd.Before(notAfter) {
		notAfter = graceEnd
	}
	if l.Issuer == nil {
		return "", errNotConfigured("the device-license issuer")
	}
	return l.Issuer.IssueDeviceLicense(ctx, marketplace.DeviceLicenseRequest{
		License: st.Record.License, DevInfo: devInfo, NotAfter: notAfter,
	})
}
