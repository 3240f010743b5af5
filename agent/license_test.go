package agent_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/fingerprint/osid"
	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
	"github.com/iscdesk/iscdesk/token"
)

// licenseAgent serves an agent whose only hook is lic and connects a client.
func licenseAgent(t *testing.T, lic agent.ManagedLicenses) *sdk.Client {
	t.Helper()
	socket := socketIn(t)
	serve(t, agent.New(agent.Config{SocketPath: socket, Licenses: lic, LicenseDir: filepath.Join(t.TempDir(), "licenses")}))
	return connect(t, socket)
}

// A device license is issued only for a devInfo that is this machine's
// fingerprint (the world's: 02:00:00:00:00:01|DISK-1||BFEBFBFF000906EA),
// under the binding policy of devinfo, with no value of another machine's;
// a refusal is a failed LicenseVerify event of kind wrong_machine.
func TestLicenseOnlyForThisMachine(t *testing.T) {
	w := newWorld(t)
	mid, err := osid.Protect("3d1217d1a0b64c5c9a2f0e5b8c7d6e4f", w.code)
	if err != nil {
		t.Fatal(err)
	}
	machineID := func(license string) (string, error) {
		if license != w.code {
			t.Errorf("machine id asked for %q", license)
		}
		return mid, nil
	}
	c := licenseAgent(t, agent.ManagedLicenses{Service: w.service, MachineID: machineID})
	ctx := ctxT(t)

	for _, tc := range []struct {
		name, devInfo string
		mid           string // the token's mid claim
	}{
		{"this machine's fingerprint", devInfo, ""},
		{"a program that reads no CPU id", "02:00:00:00:00:01|DISK-1||", ""},
		{"a single unit part (bound with the machine id)", "02:00:00:00:00:01|||BFEBFBFF000906EA", mid},
	} {
		tok, err := c.GetLicenseString(ctx, tc.devInfo)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		claims, err := token.Verify(tok, w.srv.Public, time.Now())
		if err != nil || claims.DevInfo != tc.devInfo || claims.Machine != tc.mid {
			t.Errorf("%s: claims %+v, %v", tc.name, claims, err)
		}
	}

	for _, tc := range []struct{ name, devInfo, reason string }{
		{"another machine", "0A:00:00:00:00:09|OTHER|BOARD|OTHERCPU", "mac, disk, board, cpu"},
		{"another machine with this CPU model", "0A:00:00:00:00:09|OTHER||BFEBFBFF000906EA", "mac, disk"},
		{"another machine's MAC mixed in", "02:00:00:00:00:01,0A:00:00:00:00:09|DISK-1||BFEBFBFF000906EA", "mac"},
		{"another machine's disk mixed in", "02:00:00:00:00:01|DISK-1,OTHER||BFEBFBFF000906EA", "disk"},
		{"a board this machine does not show", "02:00:00:00:00:01|DISK-1|BOARD9|BFEBFBFF000906EA", "board"},
		{"CPU only", "|||BFEBFBFF000906EA", "no network card, disk or board"},
		{"empty", "|||", "no network card, disk or board"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := c.GetLicenseString(ctx, tc.devInfo)
			var oe *sdk.OperationError
			if !errors.As(err, &oe) {
				t.Fatalf("issued %q (err %v)", tok, err)
			}
			p := oe.Event.Params
			if oe.Event.Operate != protocol.EventLicenseVerify || p["Status"] != protocol.StatusFailed || p[protocol.KindKey] != "wrong_machine" ||
				!strings.Contains(p[protocol.ReasonKey], tc.reason) || p[protocol.LicenseContentKey] != "" || oe.Event.ComeBackParams[protocol.RequestIDKey] == "" {
				t.Errorf("event %+v", oe.Event)
			}
		})
	}
	// The file form is refused alike, and writes nothing.
	if _, err := c.GetLicenseFile(ctx, "other.lic", "0A:00:00:00:00:09|OTHER||BFEBFBFF000906EA"); kindOf(err) != "wrong_machine" {
		t.Errorf("license file for another machine: %v", err)
	}
}

// A single unit part needs the machine id: where it cannot be read, no
// license is issued.
func TestLicenseSingleUnitWithoutMachineID(t *testing.T) {
	w := newWorld(t)
	c := licenseAgent(t, agent.ManagedLicenses{Service: w.service,
		MachineID: func(string) (string, error) { return "", osid.ErrUnavailable }})
	if _, err := c.GetLicenseString(ctxT(t), "02:00:00:00:00:01|||BFEBFBFF000906EA"); kindOf(err) != "wrong_machine" {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.GetLicenseString(ctxT(t), devInfo); err != nil {
		t.Fatalf("two unit parts need no machine id: %v", err)
	}
}

// ManagedLicenses.Fingerprint, when set, is what a devInfo must match (not
// the license service's collector): a network card the hook sees is
// accepted, and refused by an agent without the hook. (The license server
// still checks the devInfo against the activation's machine.)
func TestLicenseFingerprintHook(t *testing.T) {
	w := newWorld(t)
	withNIC := devinfo.Render(devinfo.Components{MAC: []string{"02:00:00:00:00:01", "0A:00:00:00:00:09"}, Disk: []string{"DISK-1"}, CPU: "BFEBFBFF000906EA"})
	hooked := licenseAgent(t, agent.ManagedLicenses{Service: w.service,
		Fingerprint: func(context.Context) devinfo.Fingerprint { return withNIC }})
	if _, err := hooked.GetLicenseString(ctxT(t), withNIC.String()); err != nil {
		t.Fatalf("the hook's fingerprint: %v", err)
	}
	plain := licenseAgent(t, agent.ManagedLicenses{Service: w.service})
	if _, err := plain.GetLicenseString(ctxT(t), withNIC.String()); kindOf(err) != "wrong_machine" {
		t.Fatalf("the service's fingerprint: %v", err)
	}
}

// End to end on this machine: a VM-like devInfo (its first unit part only)
// is bound with this machine's real OS machine id, and the SDK accepts it
// here.
func TestLicenseSingleUnitVerifiesHere(t *testing.T) {
	if _, err := osid.DeviceLicenseID("x"); err != nil {
		t.Skipf("no OS machine id here: %v", err)
	}
	w, c := connected(t, time.Second)
	single := "02:00:00:00:00:01|||BFEBFBFF000906EA"
	tok, err := c.GetLicenseString(ctxT(t), single)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.VerifyDeviceLicense(tok, w.srv.Public, single, time.Now()); err != nil {
		t.Fatalf("VerifyDeviceLicense here: %v", err)
	}
}
