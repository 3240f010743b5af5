package licensing_test

import (
	"context"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
)

// A machine whose fingerprint names no unit part (a container seeing no
// network card and no disk serial: only the CPU model) cannot hold an
// authorization: activation refuses before the marketplace activates the
// code, instead of activating it and then finding the record bound to
// nothing.
func TestActivateRefusesFingerprintWithoutUnitPart(t *testing.T) {
	m, _, _ := newService(t)
	m.Fingerprint = func(context.Context) devinfo.Fingerprint {
		return devinfo.Render(devinfo.Components{CPU: "BFEBFBFF000906EA"})
	}
	m.Market = func(context.Context, string) (licensing.Marketplace, error) {
		t.Fatal("the marketplace was asked")
		return nil, nil
	}
	if _, err := m.Activate(context.Background(), "PLGOOD"); !errs.Is(err, errs.WrongMachine) {
		t.Fatalf("err = %v, want kind WrongMachine", err)
	}
}

// The cached record follows devinfo's policy: bound to a VM's single MAC,
// it does not validate on another VM of the same CPU model.
func TestRecordBoundToOneMAC(t *testing.T) {
	vm := devinfo.Render(devinfo.Components{MAC: []string{"52:54:00:00:00:01"}, CPU: "BFEBFBFF000906EA"})
	r := licensing.NewRecord(licensing.License{Code: "PLGOOD", Status: licensing.StatusAlive, ExpireTime: t0.AddDate(1, 0, 0)}, vm, "", t0)
	if v := r.Validate(t0, vm.Components, time.Hour); !v.Valid() {
		t.Fatalf("its own VM: %v", v.Err)
	}
	other := devinfo.Components{MAC: []string{"52:54:00:00:00:02"}, CPU: "BFEBFBFF000906EA"}
	if v := r.Validate(t0, other, time.Hour); !errs.Is(v.Err, errs.WrongMachine) {
		t.Fatalf("another VM: %v", v.Err)
	}
}
