// Package localeenv corrects, before fyne reads it, a locale environment that
// fyne's locale detection misreads: the C locale with a codeset ("C.UTF-8",
// the default of many containers and CI runners). fyne v2.7 (through
// go-locale) takes its "C" for a language tag and logs three "Fyne error"
// lines on standard error at every start of the program, GUI or not, which
// would break the CLI's one-line error contract.
//
// Importing it (for its side effect) anywhere in the program is enough: Go
// initializes packages in import-path order among those whose imports are
// ready (the spec's rule since Go 1.21), and this path sorts before the
// packages fyne.io/fyne/v2/lang waits for (github.com/jeandeaual/go-locale,
// github.com/nicksnyder/go-i18n, golang.org/x/text), so its init runs before
// lang's. cmd/iscdesk-desktop's TestNoDisplayOneLine checks this on the
// binary.
//
// It imports only the standard library and must stay that way.
package localeenv

import (
	"os"
	"strings"
)

func init() { Fix(os.Getenv, os.Setenv) }

// Fix sets LANGUAGE=en when the locale in effect (the first set of LC_ALL,
// LC_MESSAGES and LANG) is C or POSIX with a codeset and LANGUAGE is unset.
// fyne then reads "en", which is what the C locale means for messages;
// programs started from here see the same messages as before (untranslated
// under C).
func Fix(getenv func(string) string, setenv func(string, string) error) {
	if getenv("LANGUAGE") != "" {
		return
	}
	locale := ""
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if locale = getenv(k); locale != "" {
			break
		}
	}
	base, codeset, ok := strings.Cut(locale, ".")
	if ok && codeset != "" && (base == "C" || base == "POSIX") {
		_ = setenv("LANGUAGE", "en")
	}
}
