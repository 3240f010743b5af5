package fingerprint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
)

// The fixtures in testdata/ioreg are `ioreg -r -d 1 -w 0 -c <class>` output
// (serials made up):
//
//   - platform_expert_arm64.txt, platform_expert_intel.txt: -c
//     IOPlatformExpertDevice on an Apple Silicon MacBook Air and an Intel iMac;
//   - nvme_arm64.txt: -c IONVMeController on Apple Silicon (the controller
//     carries the serial and the interconnect at top level);
//   - nvme_macpro_thunderbolt.txt: a Mac Pro with its Apple SSD, a Samsung
//     NVMe card in a PCIe slot and a Thunderbolt NVMe enclosure (External);
//   - ahci_internal_and_esata.txt: -c IOAHCIBlockStorageDevice with two
//     internal SATA disks and one on an external SATA port (the serial and
//     the interconnect sit in nested dictionaries);
//   - ahci_none.txt: the same query on a Mac without SATA: no output.

func readIoregFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ioreg", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIoregPlatformSerial(t *testing.T) {
	for file, want := range map[string]string{
		"platform_expert_arm64.txt": "FVFHX3Q1Q6L4",
		"platform_expert_intel.txt": "C02VK1JXJ1GJ",
		"ahci_none.txt":             "",
		"nvme_arm64.txt":            "",
	} {
		if got := ioregPlatformSerial(readIoregFixture(t, file)); got != want {
			t.Errorf("%s: platform serial %q, want %q", file, got, want)
		}
	}
}

func TestIoregDiskSerials(t *testing.T) {
	tests := []struct {
		file     string
		raw      []string // as ioreg prints them
		rendered []string // after Render
	}{
		{file: "nvme_arm64.txt", raw: []string{"0ba01b5a41c31e24"}, rendered: []string{"0BA01B5A41C31E24"}},
		{file: "nvme_macpro_thunderbolt.txt",
			raw:      []string{"C07939400KQJXPJ1N", "S4EWNX0R612345M     "},
			rendered: []string{"C07939400KQJXPJ1N", "S4EWNX0R612345M"}},
		{file: "ahci_internal_and_esata.txt",
			raw:      []string{"            S30YJ9AF612345", "S3Z1NB0K812345X"},
			rendered: []string{"S30YJ9AF612345", "S3Z1NB0K812345X"}},
		{file: "ahci_none.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := ioregDiskSerials(readIoregFixture(t, tt.file))
			if !slices.Equal(got, tt.raw) {
				t.Errorf("serials %q, want %q", got, tt.raw)
			}
			if r := devinfo.Render(devinfo.Components{Disk: got}).Components.Disk; !slices.Equal(r, tt.rendered) {
				t.Errorf("rendered %q, want %q", r, tt.rendered)
			}
		})
	}
}

func TestParseIoregEntries(t *testing.T) {
	entries := parseIoreg(readIoregFixture(t, "ahci_internal_and_esata.txt"))
	if len(entries) != 3 {
		t.Fatalf("%d entries, want 3", len(entries))
	}
	e := entries[0]
	if e.Class != "IOAHCIBlockStorageDevice" {
		t.Errorf("class %q", e.Class)
	}
	want := map[string]string{
		"device-type":                    "Generic",
		"Product Name":                   "APPLE HDD ST1000LM024",
		"Medium Type":                    "Rotational",
		"Physical Interconnect":          "SATA",
		"Physical Interconnect Location": "Internal",
	}
	for k, v := range want {
		if e.Props[k] != v {
			t.Errorf("%s = %q, want %q", k, e.Props[k], v)
		}
	}
	for _, k := range []string{"IOUnit", "IOStorageFeatures", "Unmap", "Device Characteristics"} {
		if _, ok := e.Props[k]; ok {
			t.Errorf("non-string property %s kept", k)
		}
	}

	platform := parseIoreg(readIoregFixture(t, "platform_expert_arm64.txt"))
	if len(platform) != 1 || platform[0].Class != "IOPlatformExpertDevice" ||
		platform[0].Props["IOPlatformUUID"] != "6F8E2A1C-4B3D-5E6F-8A9B-0C1D2E3F4A5B" {
		t.Errorf("platform entry %+v", platform)
	}
}

func TestIoregDiskRules(t *testing.T) {
	text := strings.Join([]string{
		// Drawn as a tree, as ioreg does when an entry's children are shown.
		`+-o NS_01@1  <class IONVMeBlockStorageDevice, id 0x100000461, registered, matched, active, busy 0 (0 ms), retain 9>`,
		`  | {`,
		`  |   "Device Characteristics" = {"Serial Number"="TREE-1","Medium Type"="Solid State"}`,
		`  |   "Protocol Characteristics" = {"Physical Interconnect"="Apple Fabric","Physical Interconnect Location"="Internal"}`,
		`  | }`,
		`  | `,
		`  +-o IOBlockStorageDriver  <class IOBlockStorageDriver, id 0x100000463, registered, matched, active, busy 0 (0 ms), retain 7>`,
		// The SD card slot is built in, the card in it is not the machine's.
		`+-o AppleSDXCBlockStorageDevice  <class AppleSDXCBlockStorageDevice, id 0x100000771, registered, matched, active, busy 0 (0 ms), retain 8>`,
		`    {`,
		`      "Device Characteristics" = {"Serial Number"="SDCARD-1"}`,
		`      "Protocol Characteristics" = {"Physical Interconnect"="Secure Digital","Physical Interconnect Location"="Internal"}`,
		`    }`,
		`+-o IOBlockStorageServices  <class IOBlockStorageServices, id 0x100000900, registered, matched, active, busy 0 (0 ms), retain 8>`,
		`    {`,
		`      "Device Characteristics" = {"Serial Number"="USB-1"}`,
		`      "Protocol Characteristics" = {"Physical Interconnect"="USB","Physical Interconnect Location"="External"}`,
		`    }`,
		// No location given: taken.
		`+-o IONVMeController  <class IONVMeController, id 0x100000a00, registered, matched, active, busy 0 (0 ms), retain 8>`,
		`    {`,
		`      "Serial Number" = "NOLOC-1"`,
		`    }`,
		// A top-level value wins over one in a nested dictionary, whatever
		// the order; a quote inside a top-level string does not cut it.
		`+-o IONVMeController  <class IONVMeController, id 0x100000b00, registered, matched, active, busy 0 (0 ms), retain 8>`,
		`    {`,
		`      "Device Characteristics" = {"Serial Number"="NESTED"}`,
		`      "Serial Number" = "TOP"LEVEL"`,
		`      "Physical Interconnect Location" = "internal"`,
		`    }`,
		// No serial: nothing to add.
		`+-o IONVMeController  <class IONVMeController, id 0x100000c00, registered, matched, active, busy 0 (0 ms), retain 8>`,
		`    {`,
		`      "Serial Number" = "   "`,
		`    }`,
	}, "\n")
	got := ioregDiskSerials(text)
	want := []string{"TREE-1", "NOLOC-1", `TOP"LEVEL`}
	if !slices.Equal(got, want) {
		t.Errorf("serials %q, want %q", got, want)
	}
}

// Broken lines are skipped and cost neither the other properties nor the
// other entries; nothing loops or panics.
func TestParseIoregMalformed(t *testing.T) {
	text := strings.Join([]string{
		`"Serial Number" = "BEFORE-ANY-ENTRY"`,
		`+-o X  <class IONVMeController, id 1>`,
		`    {`,
		`      "Unterminated = "x"`,
		`      "A" = {"Serial Number"="ok-nested","Broken"=`,
		`      "B" = {"k"=<"unterminated data`,
		`      "C" = (((`,
		`      "D" = [1,2,3]`,
		`      "E" = {"Set"=[1,"]",3],"Data"=<"a>b">,"Serial Number"="second-nested"}`,
		`      "F" = {=}`,
		`      "G" =`,
		`      "H" "no equals"`,
		`      "Physical Interconnect Location" = "Internal"`,
		`    }`,
		`+-o NoClass`,
		`      "IOPlatformSerialNumber" = "C02ABCDEFGHJ"`,
	}, "\n")
	entries := parseIoreg(text)
	if len(entries) != 2 || entries[0].Class != "IONVMeController" || entries[1].Class != "" {
		t.Fatalf("entries %+v", entries)
	}
	if got := entries[0].Props["Serial Number"]; got != "ok-nested" {
		t.Errorf("Serial Number = %q, want the first nested value", got)
	}
	if got := ioregDiskSerials(text); !slices.Equal(got, []string{"ok-nested"}) {
		t.Errorf("serials %q", got)
	}
	if got := ioregPlatformSerial(text); got != "C02ABCDEFGHJ" {
		t.Errorf("platform serial %q", got)
	}
}

func FuzzParseIoreg(f *testing.F) {
	for _, name := range []string{"nvme_arm64.txt", "ahci_internal_and_esata.txt", "platform_expert_intel.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", "ioreg", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, e := range parseIoreg(text) {
			for k, v := range e.Props {
				if !strings.Contains(text, k) || !strings.Contains(text, v) {
					t.Fatalf("property %q = %q is not in the input", k, v)
				}
			}
		}
	})
}
