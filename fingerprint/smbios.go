package fingerprint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// SMBIOS parsing for the Windows board probe. It has no build tag so that it
// is tested (and fuzzed) on every system: the bytes come from firmware, and a
// broken or hostile table must give an error, never a panic or an endless loop.

// smbiosInfo holds the serials this package reads from an SMBIOS table.
type smbiosInfo struct {
	// BoardSerial is the Serial Number of the first baseboard (type 2)
	// structure.
	BoardSerial string
	// SystemSerial is the Serial Number of the first system (type 1)
	// structure. The fingerprint does not use it (the fingerprint's board part is
	// the baseboard), but support engineers compare it with the sticker.
	SystemSerial string
}

// rawSMBIOSHeaderLen is the size of the RawSMBIOSData header that
// GetSystemFirmwareTable('RSMB') puts before the table: Used20CallingMethod,
// SMBIOSMajorVersion, SMBIOSMinorVersion, DmiRevision (one byte each) and the
// table length (uint32, little endian).
const rawSMBIOSHeaderLen = 8

// SMBIOS structure types and the offset of their Serial Number string index.
const (
	smbiosTypeSystem    = 1
	smbiosTypeBaseboard = 2
	smbiosTypeEnd       = 127
	smbiosSerialOffset  = 0x07 // the same in types 1 and 2
)

var errSMBIOSTruncated = errors.New("smbios: table truncated")

// parseSMBIOS reads the system and baseboard serials from RawSMBIOSData as
// GetSystemFirmwareTable('RSMB', 0) returns it. Values found before a damaged
// part of the table are returned together with the error, so a caller can
// still use a serial that was read intact.
func parseSMBIOS(raw []byte) (smbiosInfo, error) {
	if len(raw) < rawSMBIOSHeaderLen {
		return smbiosInfo{}, fmt.Errorf("smbios: %d bytes, shorter than the %d-byte header", len(raw), rawSMBIOSHeaderLen)
	}
	table := raw[rawSMBIOSHeaderLen:]
	var err error
	// Compare in uint64: a hostile length near 2^32 must not overflow int on
	// 32-bit systems.
	if n := uint64(binary.LittleEndian.Uint32(raw[4:8])); n <= uint64(len(table)) {
		table = table[:n]
	} else {
		err = fmt.Errorf("%w: header announces %d bytes, %d present", errSMBIOSTruncated, n, len(table))
	}
	info, werr := walkSMBIOS(table)
	if werr != nil {
		err = werr
	}
	return info, err
}

// walkSMBIOS walks the structures of an SMBIOS table. Each structure is a
// formatted area (type, length, handle, fields) followed by a string set that
// ends with two NUL bytes. Every step moves forward by at least the 4-byte
// header plus the 2-byte terminator, so the walk ends on any input.
func walkSMBIOS(table []byte) (smbiosInfo, error) {
	var info smbiosInfo
	seenBoard, seenSystem := false, false
	pos := 0
	for pos < len(table) {
		if len(table)-pos < 4 {
			return info, fmt.Errorf("%w: %d stray bytes at offset %d", errSMBIOSTruncated, len(table)-pos, pos)
		}
		typ, length := table[pos], int(table[pos+1])
		if length < 4 {
			return info, fmt.Errorf("smbios: structure at offset %d has length %d, less than its header", pos, length)
		}
		if pos+length > len(table) {
			return info, fmt.Errorf("%w: structure type %d at offset %d overruns the table", errSMBIOSTruncated, typ, pos)
		}
		formatted := table[pos : pos+length]
		end := stringSetEnd(table, pos+length)
		if end < 0 {
			return info, fmt.Errorf("%w: string set of structure type %d at offset %d has no terminator", errSMBIOSTruncated, typ, pos)
		}
		strs := table[pos+length : end]
		switch {
		case typ == smbiosTypeBaseboard && !seenBoard:
			seenBoard = true
			info.BoardSerial = smbiosString(formatted, strs, smbiosSerialOffset)
		case typ == smbiosTypeSystem && !seenSystem:
			seenSystem = true
			info.SystemSerial = smbiosString(formatted, strs, smbiosSerialOffset)
		case typ == smbiosTypeEnd:
			return info, nil
		}
		pos = end + 2
	}
	return info, nil
}

// stringSetEnd returns the index of the double NUL that ends the string set
// starting at from, or -1 when the table ends first. A structure without
// strings has just the two NULs.
func stringSetEnd(table []byte, from int) int {
	for i := from; i+1 < len(table); i++ {
		if table[i] == 0 && table[i+1] == 0 {
			return i
		}
	}
	return -1
}

// smbiosString resolves the string index stored at offset in the formatted
// area. Index 0 means "no string"; an index past the set (a firmware bug)
// gives "" as well.
func smbiosString(formatted, strs []byte, offset int) string {
	if offset >= len(formatted) {
		return "" // an older SMBIOS version without this field
	}
	idx := int(formatted[offset])
	if idx == 0 {
		return ""
	}
	for n := 1; len(strs) > 0; n++ {
		s, rest, _ := bytes.Cut(strs, []byte{0})
		if n == idx {
			return string(s)
		}
		strs = rest
	}
	return ""
}
