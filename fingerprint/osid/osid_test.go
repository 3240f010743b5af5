package osid

import (
	"errors"
	"runtime"
	"testing"
)

const rawA = "3d1217d1a0b64c5c9a2f0e5b8c7d6e4f"

func TestProtect(t *testing.T) {
	a, err := Protect(rawA, "PL-0001")
	if err != nil || len(a) != 64 {
		t.Fatalf("Protect = %q, %v", a, err)
	}
	for _, tc := range []struct {
		name, raw, license string
		same               bool
	}{
		{"the same id and code", rawA, "PL-0001", true},
		{"surrounding space and case of the id", " " + "3D1217D1A0B64C5C9A2F0E5B8C7D6E4F" + "\n", "PL-0001", true},
		{"the code in lower case", rawA, " pl-0001 ", true},
		{"another machine", "9d1217d1a0b64c5c9a2f0e5b8c7d6e4f", "PL-0001", false},
		{"another license code", rawA, "PL-0002", false},
	} {
		b, err := Protect(tc.raw, tc.license)
		if err != nil || Equal(a, b) != tc.same {
			t.Errorf("%s: %q, %v (same=%v)", tc.name, b, err, Equal(a, b))
		}
	}
	for _, bad := range []string{"", "  \n", "uninitialized\n", "00000000000000000000000000000000", "00000000-0000-0000-0000-000000000000"} {
		if p, err := Protect(bad, "PL-0001"); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Protect(%q) = %q, %v", bad, p, err)
		}
	}
}

func TestPlatformUUID(t *testing.T) {
	out := []byte(`+-o J314sAP  <class IOPlatformExpertDevice, id 0x100000213, registered, matched, active, busy 0 (1 ms), retain 38>
    {
      "IOPlatformSerialNumber" = "C02XXXXXXXXX"
      "IOPlatformUUID" = "1A2B3C4D-5E6F-7081-92A3-B4C5D6E7F809"
    }
`)
	if got, err := platformUUID(out); err != nil || got != "1A2B3C4D-5E6F-7081-92A3-B4C5D6E7F809" {
		t.Fatalf("%q, %v", got, err)
	}
	for _, bad := range []string{"", `"IOPlatformUUID" = ""`, `"IOPlatformUUID" = "unterminated`} {
		if got, err := platformUUID([]byte(bad)); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%q: %q, %v", bad, got, err)
		}
	}
}

// TestDeviceLicenseIDHere reads this machine's id: the same value twice.
func TestDeviceLicenseIDHere(t *testing.T) {
	a, err := DeviceLicenseID("PL-0001")
	if errors.Is(err, ErrUnavailable) && runtime.GOOS == "linux" {
		t.Skipf("this system has no machine id: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if b, err := DeviceLicenseID("pl-0001"); err != nil || !Equal(a, b) {
		t.Fatalf("second read: %q, %v", b, err)
	}
}
