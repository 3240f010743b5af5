package netutil

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Redaction: a URL may carry credentials (a proxy's user:password, a token
// as the user name, a pre-signed object-storage URL's signature in its
// query). Every message, log line and record that names a URL names it
// through these functions, so that those never reach a terminal, a log or
// a support ticket.
//
// The user information goes whole, not only its password as
// url.URL.Redacted does, because a token is often the user name alone
// ("https://TOKEN@host/"). The query goes whole because pre-signed URLs
// carry their key and signature under names no list keeps up with
// (X-Amz-Signature, Signature, sig, token, AccessKeyId…). The fragment goes
// too.

// Redact returns u as it may be shown, logged or recorded: without its user
// information, query and fragment.
func Redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}

// RedactString is Redact for a URL given as text, as a configuration file
// or the environment has it, parsed or not: a malformed URL is where an
// unescaped password is most likely. Text without "://" may hold a
// password anywhere ("user:pw@proxy:3128"): it gives "", and callers say
// what is wrong without quoting it.
func RedactString(raw string) string {
	if !strings.Contains(raw, "://") {
		return ""
	}
	return redactOne(raw)
}

// urlInText finds what looks like a URL inside a message: a scheme, "://",
// then anything up to white space, a control character, a quote or an
// angle bracket.
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://[^\x00-\x20\x7f"'<>` + "`" + `]*`)

// RedactText returns s with every URL in it redacted, for messages built
// from errors that may quote a URL (a *url.Error, another library's
// message) before they are printed or logged.
func RedactText(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, func(m string) string {
		// Punctuation that ends a sentence or a parenthesis is not part
		// of the URL.
		trimmed := strings.TrimRight(m, ".,;:)]}")
		return redactOne(trimmed) + m[len(trimmed):]
	})
}

// redactOne drops from a URL in text its user information, query and
// fragment without parsing it: a URL that does not parse (an unescaped
// character in a password) is redacted all the same. When an "@" comes
// after a "/", "?" or "#", the text cannot say where the user information
// ends, and all but the scheme goes.
func redactOne(s string) string {
	scheme, rest, _ := strings.Cut(s, "://")
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if strings.ContainsAny(rest[:at], "/?#") {
			return scheme + "://[redacted]"
		}
		rest = rest[at+1:]
	}
	if end := strings.IndexAny(rest, "?#"); end >= 0 {
		rest = rest[:end]
	}
	return scheme + "://" + rest
}

// RedactURLError redacts, in place, the URL a *url.Error in err's chain
// quotes (net/http's client errors repeat the request's URL, query and
// all; they mask only a password) and returns err, keeping its types for
// errors.As. Call it on the error as the client returns it: a message
// that wraps it is built once, before.
func RedactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactOne(ue.URL)
	}
	return err
}
