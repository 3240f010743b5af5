// Package semver reads and compares versions: the strict, semver-like form
// of the versions a signed update manifest announces, and the looser form a
// program gives for itself. It imports only the standard library.
//
// The strict form (Parse) has one spelling per version, so that it can be
// shown, logged, compared and put in a file name as it is:
//
//	version    = number "." number "." number [ "." number ] [ "-" prerelease ]
//	number     = "0" / non-zero digit followed by up to 8 digits
//	prerelease = identifier *( "." identifier )
//	identifier = 1*( ALPHA / DIGIT / "-" ), without leading zeros if all digits
//
// at most MaxLen bytes: "2.0.0", "2024.1.0.7", "3.1.0-rc.2". No "v" prefix,
// no build metadata ("+…"), no spaces: nothing but ASCII letters, digits,
// '.' and '-', and never two dots in a row, so never "/", "\" or "..".
//
// Versions compare as semantic versioning says (semver.org §11), a missing
// fourth number counting as 0: 2.10.0 > 2.9.1, 1.0.0 > 1.0.0-rc.1,
// 1.0.0-rc.10 > 1.0.0-rc.9.
package semver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxLen is the longest version accepted, in bytes.
const MaxLen = 64

// maxDigits bounds a number, so that it fits in a uint32 with room to spare.
const maxDigits = 9

// Version is a parsed version. The zero Version is 0.0.0.
type Version struct {
	nums [4]uint32
	pre  []string // prerelease identifiers; none for a release
	text string   // as parsed
}

// String is the version as it was parsed.
func (v Version) String() string { return v.text }

// Parse reads the strict form (see the package comment).
func Parse(s string) (Version, error) {
	return parse(s, true)
}

// ParseLoose reads a version a program gives for itself: the strict form
// with leading and trailing space, a "v" prefix, build metadata ("+…", which
// is ignored), one to four numbers and leading zeros allowed ("v2.0",
// "1.4.02+build.7").
func ParseLoose(s string) (Version, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(strings.TrimPrefix(t, "v"), "V")
	if i := strings.IndexByte(t, '+'); i >= 0 {
		if !identifiers(t[i+1:], false) {
			return Version{}, fmt.Errorf("version %q: malformed build metadata", clip(s))
		}
		t = t[:i]
	}
	v, err := parse(t, false)
	if err != nil {
		return Version{}, fmt.Errorf("version %q: %w", clip(s), errors.Unwrap(err))
	}
	v.text = strings.TrimSpace(s)
	return v, nil
}

func parse(s string, strict bool) (Version, error) {
	fail := func(why string) (Version, error) {
		return Version{}, fmt.Errorf("version %q: %w", clip(s), errors.New(why))
	}
	if s == "" {
		return fail("empty")
	}
	if len(s) > MaxLen {
		return fail(fmt.Sprintf("longer than %d bytes", MaxLen))
	}
	release, pre, hasPre := strings.Cut(s, "-")
	parts := strings.Split(release, ".")
	minParts := 3
	if !strict {
		minParts = 1
	}
	if len(parts) < minParts || len(parts) > 4 {
		if strict {
			return fail("want three or four numbers separated by dots, such as 2.0.0")
		}
		return fail("want one to four numbers separated by dots, such as 2.0.0")
	}
	v := Version{text: s}
	for i, p := range parts {
		if !number(p, strict) {
			if strict {
				return fail(fmt.Sprintf("%q is not a number of at most %d digits without leading zeros", clip(p), maxDigits))
			}
			return fail(fmt.Sprintf("%q is not a number of at most %d digits", clip(p), maxDigits))
		}
		n, _ := strconv.ParseUint(p, 10, 32)
		v.nums[i] = uint32(n)
	}
	if hasPre {
		if !identifiers(pre, strict) {
			return fail("malformed prerelease: dot-separated letters, digits and hyphens")
		}
		v.pre = strings.Split(pre, ".")
	}
	return v, nil
}

// number reports whether p is 1 to maxDigits digits; strict refuses leading
// zeros.
func number(p string, strict bool) bool {
	if p == "" || len(p) > maxDigits || strings.Trim(p, "0123456789") != "" {
		return false
	}
	return !strict || p == "0" || p[0] != '0'
}

// identifiers reports whether s is dot-separated non-empty identifiers of
// ASCII letters, digits and hyphens; strict refuses a numeric identifier
// with a leading zero.
func identifiers(s string, strict bool) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
				return false
			}
		}
		if strict && len(id) > 1 && id[0] == '0' && allDigits(id) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool { return strings.Trim(s, "0123456789") == "" }

// Compare returns -1, 0 or +1 as v is older than, the same as or newer than
// w.
func (v Version) Compare(w Version) int {
	for i := range v.nums {
		if v.nums[i] != w.nums[i] {
			return cmp(v.nums[i] < w.nums[i])
		}
	}
	switch {
	case len(v.pre) == 0 && len(w.pre) == 0:
		return 0
	case len(v.pre) == 0:
		return +1 // a release is newer than its prereleases
	case len(w.pre) == 0:
		return -1
	}
	for i := 0; i < len(v.pre) && i < len(w.pre); i++ {
		if c := compareIdentifier(v.pre[i], w.pre[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(v.pre) < len(w.pre):
		return -1
	case len(v.pre) > len(w.pre):
		return +1
	}
	return 0
}

// compareIdentifier orders prerelease identifiers: numbers numerically and
// before words, words in ASCII order.
func compareIdentifier(a, b string) int {
	an, bn := allDigits(a), allDigits(b)
	switch {
	case an && bn:
		// By value, however long: compare lengths once zeros are gone.
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			return cmp(len(a) < len(b))
		}
		return strings.Compare(a, b)
	case an:
		return -1
	case bn:
		return +1
	}
	return strings.Compare(a, b)
}

func cmp(less bool) int {
	if less {
		return -1
	}
	return +1
}

// clip shortens what an error quotes: a version comes from another program
// or a server.
func clip(s string) string {
	if len(s) > MaxLen {
		return s[:MaxLen] + "…"
	}
	return s
}
