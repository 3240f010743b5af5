package devinfo

import (
	"net"
	"slices"
	"strings"
	"unicode"
)

// normaliseValue trims white space, removes the characters that would break
// the string's format ('|', ',' and control characters) and upper-cases the
// rest. The raw serial is otherwise kept: a trailing '.' or inner spaces
// stay, as the published example shows. It returns "" for a value that is
// empty or longer than maxEntryBytes.
func normaliseValue(v string) string {
	v = strings.TrimSpace(v)
	if strings.ContainsFunc(v, isUnsafe) {
		v = strings.TrimSpace(strings.Map(func(r rune) rune {
			if isUnsafe(r) {
				return -1
			}
			return r
		}, v))
	}
	v = strings.ToUpper(v)
	if len(v) > maxEntryBytes {
		return ""
	}
	return v
}

func isUnsafe(r rune) bool {
	return r == '|' || r == ',' || unicode.IsControl(r) || r == unicode.ReplacementChar
}

// NormalizeMAC accepts any form net.ParseMAC accepts for a 6-byte address and
// renders it as AA:BB:CC:DD:EE:FF; all-zero and broadcast addresses are not
// identities and give "".
func NormalizeMAC(v string) string {
	hw, err := net.ParseMAC(strings.TrimSpace(v))
	if err != nil || len(hw) != 6 {
		return ""
	}
	zero, ones := true, true
	for _, b := range hw {
		zero = zero && b == 0
		ones = ones && b == 0xff
	}
	if zero || ones {
		return ""
	}
	return strings.ToUpper(hw.String())
}

// boardPlaceholders are values firmware vendors leave in the baseboard serial
// field instead of a serial (compared after normalisation, so upper case).
var boardPlaceholders = map[string]bool{
	"DEFAULT STRING":           true,
	"TO BE FILLED BY O.E.M.":   true,
	"TO BE FILLED BY OEM":      true,
	"NOT SPECIFIED":            true,
	"NOT APPLICABLE":           true,
	"NOT AVAILABLE":            true,
	"NONE":                     true,
	"N/A":                      true,
	"SYSTEM SERIAL NUMBER":     true,
	"BASE BOARD SERIAL NUMBER": true,
	"SERIAL NUMBER":            true,
	"INVALID":                  true,
	"UNKNOWN":                  true,
	"OEM":                      true,
	"O.E.M.":                   true,
	"0123456789":               true,
	"123456789":                true,
	"XXXXXXXXXX":               true,
}

// normaliseBoard normalises a baseboard serial and maps vendor placeholders to
// "": a placeholder is the same on thousands of machines and identifies none.
func normaliseBoard(v string) string {
	v = normaliseValue(v)
	if boardPlaceholders[v] || strings.Trim(v, "0") == "" || strings.Trim(v, "F") == "" ||
		strings.Trim(v, " .-_") == "" {
		return ""
	}
	return v
}

// normaliseList normalises each value, drops the empty ones, and returns the
// rest sorted and de-duplicated.
func normaliseList(in []string, norm func(string) string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		if v = norm(v); v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil
	}
	return out
}
