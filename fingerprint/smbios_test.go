package fingerprint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
)

// The fixtures in testdata/smbios are RawSMBIOSData as GetSystemFirmwareTable
// returns it (8-byte header, then the table) for an SMBIOS 3.4 desktop board
// with BIOS (0), system (1), baseboard (2), chassis (3), boot information (32,
// a structure without strings) and end-of-table (127) structures:
//
//   - normal.bin: board serial 07D2511_M41E123456, system serial
//     SYS-2305A0012345;
//   - placeholder.bin: the vendor left "To be filled by O.E.M." (board) and
//     "Default string" (system);
//   - truncated.bin: normal.bin cut inside the baseboard's string set, with
//     the header still announcing the whole table.

func readSMBIOSFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "smbios", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSMBIOSFixtures(t *testing.T) {
	tests := []struct {
		file          string
		board, system string
		truncated     bool
	}{
		{file: "normal.bin", board: "07D2511_M41E123456", system: "SYS-2305A0012345"},
		{file: "placeholder.bin", board: "To be filled by O.E.M.", system: "Default string"},
		{file: "truncated.bin", system: "SYS-2305A0012345", truncated: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			info, err := parseSMBIOS(readSMBIOSFixture(t, tt.file))
			if tt.truncated != errors.Is(err, errSMBIOSTruncated) || (!tt.truncated && err != nil) {
				t.Errorf("err = %v, want truncated %v", err, tt.truncated)
			}
			if info.BoardSerial != tt.board || info.SystemSerial != tt.system {
				t.Errorf("got board %q system %q, want %q %q", info.BoardSerial, info.SystemSerial, tt.board, tt.system)
			}
		})
	}
}

// The parser returns the raw string; Render is what turns a placeholder
// into an empty board field.
func TestParseSMBIOSPlaceholderRendersEmpty(t *testing.T) {
	info, err := parseSMBIOS(readSMBIOSFixture(t, "placeholder.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if f := devinfo.Render(devinfo.Components{Board: info.BoardSerial}); f.Components.Board != "" || f.String() != "|||" {
		t.Errorf("placeholder board rendered as %q", f.String())
	}
	info, _ = parseSMBIOS(readSMBIOSFixture(t, "normal.bin"))
	if got := devinfo.Render(devinfo.Components{Board: info.BoardSerial}).Components.Board; got != "07D2511_M41E123456" {
		t.Errorf("board rendered as %q", got)
	}
}

// smbiosStruct builds one structure: header, formatted fields, string set.
func smbiosStruct(typ byte, fields []byte, strs ...string) []byte {
	b := []byte{typ, byte(4 + len(fields)), 0x34, 0x12}
	b = append(b, fields...)
	for _, s := range strs {
		b = append(append(b, s...), 0)
	}
	if len(strs) == 0 {
		b = append(b, 0)
	}
	return append(b, 0)
}

func rawSMBIOS(table []byte, announced uint32) []byte {
	h := []byte{0, 3, 4, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(h[4:], announced)
	return append(h, table...)
}

func TestParseSMBIOSEdgeCases(t *testing.T) {
	board := func(serialIndex byte, strs ...string) []byte {
		return smbiosStruct(2, []byte{1, 2, 3, serialIndex, 0, 0x09, 0, 0, 0, 0x0a, 0}, strs...)
	}
	end := smbiosStruct(127, nil)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	whole := func(table []byte) []byte { return rawSMBIOS(table, uint32(len(table))) }
	table := cat(board(2, "Vendor", "SN-1"), end)

	tests := []struct {
		name    string
		raw     []byte
		board   string
		wantErr bool
	}{
		{name: "empty input", raw: nil, wantErr: true},
		{name: "short header", raw: []byte{0, 3, 4}, wantErr: true},
		{name: "header only", raw: whole(nil)},
		{name: "serial index", raw: whole(table), board: "SN-1"},
		{name: "no end marker", raw: whole(board(1, "SN-2")), board: "SN-2"},
		{name: "index 0 means no string", raw: whole(cat(board(0, "Vendor"), end))},
		{name: "index past the set", raw: whole(cat(board(5, "A", "B"), end))},
		{name: "no strings at all", raw: whole(cat(board(1), end))},
		{name: "old SMBIOS without serial field", raw: whole(cat(smbiosStruct(2, []byte{1, 2}, "V", "P"), end))},
		{name: "first baseboard wins", raw: whole(cat(board(1, "FIRST"), board(1, "SECOND"), end)), board: "FIRST"},
		{name: "after end marker ignored", raw: whole(cat(end, board(1, "LATE")))},
		{name: "length below header", raw: whole([]byte{2, 3, 0, 0, 0, 0}), wantErr: true},
		{name: "length zero", raw: whole([]byte{2, 0, 0, 0, 0, 0, 0, 0}), wantErr: true},
		{name: "structure overruns table", raw: whole([]byte{2, 0xff, 0, 0, 1, 0}), wantErr: true},
		{name: "no string terminator", raw: whole(table[:len(table)-7]), wantErr: true},
		{name: "stray bytes after a structure", raw: whole(cat(board(2, "Vendor", "SN-3"), []byte{1, 2})), board: "SN-3", wantErr: true},
		{name: "announced length near 2^32", raw: rawSMBIOS(table, 0xffffffff), board: "SN-1", wantErr: true},
		{name: "bytes after the announced length ignored", raw: append(whole(table), 0xde, 0xad), board: "SN-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := parseSMBIOS(tt.raw)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
			if info.BoardSerial != tt.board {
				t.Errorf("board = %q, want %q", info.BoardSerial, tt.board)
			}
		})
	}
}

func FuzzParseSMBIOS(f *testing.F) {
	for _, name := range []string{"normal.bin", "placeholder.bin", "truncated.bin"} {
		f.Add(readSMBIOSFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		info, _ := parseSMBIOS(raw)
		for _, s := range []string{info.BoardSerial, info.SystemSerial} {
			if s == "" {
				continue
			}
			// A serial is always one string of the input, never built from
			// bytes outside it.
			if bytes.IndexByte([]byte(s), 0) >= 0 || !bytes.Contains(raw, []byte(s)) {
				t.Fatalf("serial %q is not a string of the input", s)
			}
		}
	})
}
