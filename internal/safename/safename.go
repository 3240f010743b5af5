// Package safename holds the one rule for names that become file or folder
// names on every system iscdesk runs on: installed package names, cloud
// drive entries, kept scripts and logs. It imports only the standard library.
package safename

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen is the longest name accepted, in bytes.
const MaxLen = 100

// badChars cannot appear in a file name on Windows, or are path separators.
const badChars = `/\:*?"<>|`

// reserved are device names Windows refuses as file names, with or without an
// extension.
var reserved = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true}

// Check reports why name is not a portable plain name, or nil: not empty, at
// most MaxLen bytes, valid UTF-8, no path separator, control character or
// character Windows refuses, not starting with a dot or a space (dot names
// are kept for iscdesk's own files), not ending with a dot or a space, not a
// Windows device name.
func Check(name string) error {
	base, _, _ := strings.Cut(name, ".")
	switch {
	case name == "":
		return errors.New("empty")
	case len(name) > MaxLen:
		return fmt.Errorf("longer than %d bytes", MaxLen)
	case !utf8.ValidString(name):
		return errors.New("not valid UTF-8")
	case name[0] == '.' || name[0] == ' ' || strings.HasSuffix(name, " ") || strings.HasSuffix(name, "."):
		return errors.New("starts with a dot or a space, or ends with one")
	case strings.ContainsAny(name, badChars) || strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("contains a control character or one of %s", badChars)
	case reserved[strings.ToUpper(strings.TrimRight(base, " "))]:
		return fmt.Errorf("%q is a device name on Windows", base)
	}
	return nil
}

// Sanitize turns s into a name Check accepts by replacing what it refuses,
// or returns "" when nothing usable is left.
func Sanitize(s string) string {
	s = strings.ToValidUTF8(s, "-")
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(badChars, r) || unicode.IsControl(r) {
			return '-'
		}
		return r
	}, s)
	s = strings.Trim(s, " .")
	for len(s) > MaxLen {
		_, size := utf8.DecodeLastRuneInString(s)
		s = strings.TrimRight(s[:len(s)-size], " .")
	}
	if Check(s) != nil {
		return ""
	}
	return s
}
