package fingerprint

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Parsing of the STORAGE_DEVICE_DESCRIPTOR that Windows returns for
// IOCTL_STORAGE_QUERY_PROPERTY (StorageDeviceProperty). It has no build tag so
// that it is tested on every system from bytes; the bytes come from storage
// drivers of any quality, so every offset is checked.

// storageDescriptor is what the disk probe needs from a descriptor.
type storageDescriptor struct {
	Removable bool
	BusType   uint32
	Product   string
	Serial    string
}

// Layout of STORAGE_DEVICE_DESCRIPTOR (winioctl.h): Version u32, Size u32,
// DeviceType u8, DeviceTypeModifier u8, RemovableMedia u8, CommandQueueing u8,
// then the u32 offsets of the vendor, product, revision and serial strings,
// BusType u32, RawPropertiesLength u32, RawDeviceProperties.
const (
	sddSizeOff      = 4
	sddRemovableOff = 10
	sddProductOff   = 16
	sddSerialOff    = 24
	sddBusTypeOff   = 28
	sddMinLen       = 32 // up to and including BusType
)

// STORAGE_BUS_TYPE values.
const (
	busType1394              = 0x04
	busTypeISCSI             = 0x09
	busTypeUSB               = 0x07
	busTypeSD                = 0x0C
	busTypeMMC               = 0x0D
	busTypeVirtual           = 0x0E
	busTypeFileBackedVirtual = 0x0F
	busTypeSpaces            = 0x10
	busTypeNVMeOF            = 0x14
)

var busTypeNames = map[uint32]string{
	0x00: "unknown", 0x01: "SCSI", 0x02: "ATAPI", 0x03: "ATA", busType1394: "1394", 0x05: "SSA",
	0x06: "Fibre Channel", busTypeUSB: "USB", 0x08: "RAID", busTypeISCSI: "iSCSI", 0x0A: "SAS",
	0x0B: "SATA", busTypeSD: "SD", busTypeMMC: "MMC", busTypeVirtual: "virtual",
	busTypeFileBackedVirtual: "file-backed virtual", busTypeSpaces: "Storage Spaces", 0x11: "NVMe",
	0x12: "SCM", 0x13: "UFS", busTypeNVMeOF: "NVMe-oF",
}

func busTypeName(t uint32) string {
	if n, ok := busTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("bus type %#x", t)
}

// parseStorageDescriptor reads a STORAGE_DEVICE_DESCRIPTOR. The descriptor's
// own Size bounds the strings when it is smaller than the buffer (a driver
// may leave garbage after it); a string offset of 0 or one outside the
// descriptor means the device reports no such string.
func parseStorageDescriptor(b []byte) (storageDescriptor, error) {
	if len(b) < sddMinLen {
		return storageDescriptor{}, fmt.Errorf("storage descriptor: %d bytes, need at least %d", len(b), sddMinLen)
	}
	if size := binary.LittleEndian.Uint32(b[sddSizeOff:]); size >= sddMinLen && uint64(size) < uint64(len(b)) {
		b = b[:size]
	}
	return storageDescriptor{
		Removable: b[sddRemovableOff] != 0,
		BusType:   binary.LittleEndian.Uint32(b[sddBusTypeOff:]),
		Product:   descriptorString(b, binary.LittleEndian.Uint32(b[sddProductOff:])),
		Serial:    descriptorString(b, binary.LittleEndian.Uint32(b[sddSerialOff:])),
	}, nil
}

// descriptorString reads the NUL-terminated string at off. Offsets that
// point into the fixed header are bogus and give "".
func descriptorString(b []byte, off uint32) string {
	if off < sddMinLen || uint64(off) >= uint64(len(b)) {
		return ""
	}
	s, _, _ := bytes.Cut(b[off:], []byte{0})
	return string(s)
}

// fixedDisk reports whether the descriptor is of a disk that belongs to this
// machine: not removable media, and not on a bus that carries external
// (USB, FireWire, SD/MMC card readers), virtual (mounted VHD/VHDX or ISO
// files, Storage Spaces volumes) or network (iSCSI, NVMe over Fabrics)
// storage: such a disk moves between machines, or its "serial" is made up.
func (d storageDescriptor) fixedDisk() bool {
	if d.Removable {
		return false
	}
	switch d.BusType {
	case busTypeUSB, busType1394, busTypeSD, busTypeMMC, busTypeVirtual, busTypeFileBackedVirtual,
		busTypeSpaces, busTypeISCSI, busTypeNVMeOF:
		return false
	}
	return true
}
