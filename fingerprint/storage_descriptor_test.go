package fingerprint

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// sdd builds a STORAGE_DEVICE_DESCRIPTOR as a storage driver fills it: the
// 40-byte structure (36 bytes of fields plus RawDeviceProperties[1], padded),
// then the NUL-terminated strings it points to. An empty string gets offset 0,
// as drivers report a missing string.
func sdd(removable bool, bus uint32, vendor, product, serial string) []byte {
	b := make([]byte, 40)
	binary.LittleEndian.PutUint32(b[0:], 40) // Version: sizeof the structure
	b[8] = 0                                 // DeviceType: direct access
	if removable {
		b[sddRemovableOff] = 1
	}
	put := func(fieldOff int, s string) {
		if s == "" {
			return
		}
		binary.LittleEndian.PutUint32(b[fieldOff:], uint32(len(b)))
		b = append(append(b, s...), 0)
	}
	put(12, vendor)
	put(sddProductOff, product)
	put(20, "1.0")
	put(sddSerialOff, serial)
	binary.LittleEndian.PutUint32(b[sddBusTypeOff:], bus)
	binary.LittleEndian.PutUint32(b[sddSizeOff:], uint32(len(b)))
	return b
}

func TestParseStorageDescriptor(t *testing.T) {
	tests := []struct {
		name    string
		b       []byte
		serial  string
		product string
		fixed   bool
	}{
		// The published example's disk serial: the NVMe EUI-64 form with its
		// trailing '.', kept as is.
		{name: "NVMe", b: sdd(false, 0x11, "", "Samsung SSD 970 EVO Plus 1TB", "001B_444A_488B_5CEC."),
			serial: "001B_444A_488B_5CEC.", product: "Samsung SSD 970 EVO Plus 1TB", fixed: true},
		{name: "SATA with padding", b: sdd(false, 0x0B, "", "WDC WD10EZEX-08WN4A0", "     WD-WCC6Y1234567"),
			serial: "     WD-WCC6Y1234567", product: "WDC WD10EZEX-08WN4A0", fixed: true},
		{name: "RAID volume", b: sdd(false, 0x08, "", "RAID1 Volume", "ARC1880-0001"), serial: "ARC1880-0001", product: "RAID1 Volume", fixed: true},
		{name: "SCSI in a VM", b: sdd(false, 0x01, "Msft", "Virtual Disk", "6002248069F1B2C3"), serial: "6002248069F1B2C3", product: "Virtual Disk", fixed: true},
		{name: "no serial", b: sdd(false, 0x0B, "", "QEMU HARDDISK", ""), product: "QEMU HARDDISK", fixed: true},
		{name: "USB stick", b: sdd(true, busTypeUSB, "SanDisk", "Ultra", "4C530001230707110371"), serial: "4C530001230707110371", product: "Ultra"},
		{name: "USB fixed disk", b: sdd(false, busTypeUSB, "WD", "Elements 2621", "575836314131"), serial: "575836314131", product: "Elements 2621"},
		{name: "removable SATA", b: sdd(true, 0x0B, "", "Hot-swap bay", "S1"), serial: "S1", product: "Hot-swap bay"},
		{name: "SD card", b: sdd(true, busTypeSD, "", "SD Card", "0x1234"), serial: "0x1234", product: "SD Card"},
		{name: "MMC", b: sdd(false, busTypeMMC, "", "eMMC", "0xABCD"), serial: "0xABCD", product: "eMMC"},
		{name: "mounted VHDX", b: sdd(false, busTypeFileBackedVirtual, "Msft", "Virtual Disk", "VHD1"), serial: "VHD1", product: "Virtual Disk"},
		{name: "virtual", b: sdd(false, busTypeVirtual, "", "Virtual", "V1"), serial: "V1", product: "Virtual"},
		{name: "Storage Spaces", b: sdd(false, busTypeSpaces, "Microsoft", "Storage Space", "{9A1B}"), serial: "{9A1B}", product: "Storage Space"},
		{name: "iSCSI", b: sdd(false, busTypeISCSI, "LIO-ORG", "lun0", "abc-123"), serial: "abc-123", product: "lun0"},
		{name: "FireWire", b: sdd(false, busType1394, "", "LaCie", "L1"), serial: "L1", product: "LaCie"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := parseStorageDescriptor(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if d.Serial != tt.serial || d.Product != tt.product || d.fixedDisk() != tt.fixed {
				t.Errorf("got serial %q product %q fixed %v, want %q %q %v", d.Serial, d.Product, d.fixedDisk(), tt.serial, tt.product, tt.fixed)
			}
		})
	}
}

func TestParseStorageDescriptorHostile(t *testing.T) {
	good := sdd(false, 0x11, "", "Disk", "SERIAL-1")
	with := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	setU32 := func(off int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b }
	}

	if _, err := parseStorageDescriptor(good[:sddMinLen-1]); err == nil {
		t.Error("a descriptor shorter than its fields parsed without error")
	}
	if _, err := parseStorageDescriptor(nil); err == nil {
		t.Error("no bytes parsed without error")
	}
	tests := []struct {
		name   string
		b      []byte
		serial string
	}{
		{name: "serial offset past the end", b: with(setU32(sddSerialOff, 1<<31)), serial: ""},
		{name: "serial offset at the end", b: with(setU32(sddSerialOff, uint32(len(good)))), serial: ""},
		{name: "serial offset into the header", b: with(setU32(sddSerialOff, 8)), serial: ""},
		{name: "serial offset 0xFFFFFFFF", b: with(setU32(sddSerialOff, 0xffffffff)), serial: ""},
		// Size says the descriptor ends before the serial: bytes after it
		// are not the driver's answer.
		{name: "serial beyond Size", b: with(setU32(sddSizeOff, uint32(len(good)-len("SERIAL-1")-1))), serial: ""},
		{name: "Size larger than the buffer", b: with(setU32(sddSizeOff, 1<<20)), serial: "SERIAL-1"},
		{name: "Size smaller than the fields", b: with(setU32(sddSizeOff, 4)), serial: "SERIAL-1"},
		{name: "unterminated serial", b: good[:len(good)-1], serial: "SERIAL-1"},
		{name: "cut serial", b: good[:len(good)-4], serial: "SERIA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := parseStorageDescriptor(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if d.Serial != tt.serial {
				t.Errorf("serial = %q, want %q", d.Serial, tt.serial)
			}
		})
	}
}

func TestStorageBusTypeName(t *testing.T) {
	for bus, want := range map[uint32]string{0x11: "NVMe", 0x0B: "SATA", busTypeUSB: "USB", 0x7F: "bus type 0x7f"} {
		if got := busTypeName(bus); got != want {
			t.Errorf("busTypeName(%#x) = %q, want %q", bus, got, want)
		}
	}
}

func FuzzParseStorageDescriptor(f *testing.F) {
	f.Add(sdd(false, 0x11, "", "Samsung SSD 970 EVO Plus 1TB", "001B_444A_488B_5CEC."))
	f.Add(sdd(true, busTypeUSB, "SanDisk", "Ultra", "4C530001230707110371"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseStorageDescriptor(b)
		if err != nil {
			return
		}
		if bytes.IndexByte([]byte(d.Serial), 0) >= 0 || !bytes.Contains(b, []byte(d.Serial)) {
			t.Fatalf("serial %q is not a string of the input", d.Serial)
		}
	})
}
