package fingerprint

import (
	"strings"
)

// Parsing of the text that macOS `ioreg -r -d 1 -w 0 -c <class>` prints. It has
// no build tag so that it is tested on every system from recorded output.
//
// The output is one block per matching registry entry:
//
//	+-o AppleANS3NVMeController  <class AppleANS3NVMeController, id 0x100000318, …>
//	    {
//	      "Serial Number" = "0ba0183e5a1c2d01"
//	      "Protocol Characteristics" = {"Physical Interconnect"="SATA","Physical Interconnect Location"="Internal"}
//	    }
//
// Top-level properties are one per line; nested dictionaries are printed
// inline. Only string values are kept: a key's top-level value wins, otherwise
// the first value found in a nested dictionary (that is where
// IOAHCIBlockStorageDevice keeps "Serial Number" and the interconnect).

// ioregEntry is one registry entry of the output.
type ioregEntry struct {
	Class string
	Props map[string]string
}

// parseIoreg splits ioreg output into entries. Lines it does not understand
// are skipped: the format is not specified, and one odd property must not
// cost the others.
func parseIoreg(text string) []ioregEntry {
	var out []ioregEntry
	var cur *ioregEntry
	for line := range strings.Lines(text) {
		// With children, ioreg draws the tree with '|' in front of the
		// properties; without -d 1 it would nest entries, which this
		// parser flattens.
		line = strings.TrimLeft(strings.TrimRight(line, " \t\r\n"), " \t|")
		if rest, ok := strings.CutPrefix(line, "+-o "); ok {
			out = append(out, ioregEntry{Class: ioregClass(rest), Props: map[string]string{}})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil || !strings.HasPrefix(line, `"`) {
			continue
		}
		p := ioregScanner{s: line}
		key, ok := p.str()
		if !ok {
			continue
		}
		p.space()
		if !p.eat('=') {
			continue
		}
		p.space()
		if rest := p.s[p.i:]; len(rest) >= 2 && rest[0] == '"' && rest[len(rest)-1] == '"' {
			// A top-level string runs to the end of the line, so a quote
			// inside it (ioreg does not escape them) does not cut it short.
			cur.Props[key] = rest[1 : len(rest)-1]
			continue
		}
		p.value(func(k, v string, top bool) {
			if _, seen := cur.Props[k]; top || !seen {
				cur.Props[k] = v
			}
		}, key, true)
	}
	return out
}

// ioregClass extracts the class from "Name  <class IOName, id 0x…, …>".
func ioregClass(header string) string {
	_, c, ok := strings.Cut(header, "<class ")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(c, ",>"); i >= 0 {
		c = c[:i]
	}
	return strings.TrimSpace(c)
}

// ioregScanner reads one property line. Every method consumes at least one
// byte or reports failure, so malformed input ends the line instead of
// looping.
type ioregScanner struct {
	s string
	i int
}

func (p *ioregScanner) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *ioregScanner) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a quoted string. ioreg prints strings between quotes without
// escaping anything, so a string ends at the next quote.
func (p *ioregScanner) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	end := strings.IndexByte(p.s[p.i:], '"')
	if end < 0 {
		return "", false
	}
	v := p.s[p.i : p.i+end]
	p.i += end + 1
	return v, true
}

// value reads one value and reports string values to emit under key, then
// those of nested dictionaries under their own keys (top false). Data
// (<…>), arrays ((…)), sets ([…]), numbers and booleans are skipped.
func (p *ioregScanner) value(emit func(key, value string, top bool), key string, top bool) bool {
	if p.i >= len(p.s) {
		return false
	}
	switch p.s[p.i] {
	case '"':
		v, ok := p.str()
		if ok {
			emit(key, v, top)
		}
		return ok
	case '{':
		p.i++
		for {
			p.space()
			if p.eat('}') {
				return true
			}
			k, ok := p.str()
			if !ok {
				return false
			}
			p.space()
			if !p.eat('=') {
				return false
			}
			p.space()
			if !p.value(emit, k, false) {
				return false
			}
			p.space()
			p.eat(',')
		}
	case '<':
		return p.skipUntil('>')
	case '(':
		return p.skipUntil(')')
	case '[':
		return p.skipUntil(']')
	default:
		start := p.i
		for p.i < len(p.s) && !strings.ContainsRune(",})]= \t", rune(p.s[p.i])) {
			p.i++
		}
		return p.i > start
	}
}

// skipUntil skips a data or array value up to its closing byte, stepping
// over quoted strings and nested brackets.
func (p *ioregScanner) skipUntil(closing byte) bool {
	depth := 0
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch c {
		case '"':
			if _, ok := p.str(); !ok {
				return false
			}
			continue
		case '(', '{', '<', '[':
			depth++
		case ')', '}', '>', ']':
			depth--
			if depth == 0 {
				p.i++
				return c == closing
			}
		}
		p.i++
	}
	return false
}

// ioregPlatformSerial returns the IOPlatformSerialNumber of the output of
// `ioreg -r -d 1 -c IOPlatformExpertDevice`: the serial of the Mac, which
// Apple keeps on the logic board (the fingerprint's board part).
func ioregPlatformSerial(text string) string {
	for _, e := range parseIoreg(text) {
		if s := strings.TrimSpace(e.Props["IOPlatformSerialNumber"]); s != "" {
			return s
		}
	}
	return ""
}

// Interconnects of storage that is not part of the machine even when macOS
// calls its location Internal (the SD card slot of a MacBook Pro is
// "Internal", the card in it is not), compared case-insensitively.
var externalInterconnects = []string{"USB", "FireWire", "Thunderbolt", "Secure Digital", "Virtual Interface"}

// ioregDiskSerials returns the serials of internal disks in the output of
// `ioreg -r -d 1 -c IONVMeController` or `-c IOAHCIBlockStorageDevice`: an
// entry counts when it has a "Serial Number", its "Physical Interconnect
// Location" (when present) is Internal, and its "Physical Interconnect" is
// not one of externalInterconnects. The serial is returned raw (SATA disks pad
// it with spaces); Render trims it.
func ioregDiskSerials(text string) []string {
	var out []string
	for _, e := range parseIoreg(text) {
		serial := e.Props["Serial Number"]
		if strings.TrimSpace(serial) == "" {
			continue
		}
		if loc, ok := e.Props["Physical Interconnect Location"]; ok && !strings.EqualFold(strings.TrimSpace(loc), "Internal") {
			continue
		}
		if ic := strings.TrimSpace(e.Props["Physical Interconnect"]); ic != "" && containsFold(externalInterconnects, ic) {
			continue
		}
		out = append(out, serial)
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
