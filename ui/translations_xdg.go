//go:build !windows && !darwin

package ui

import (
	"os"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
)

// On Linux and the BSDs fyne reads the language from the environment (the
// first of LC_ALL, LC_MESSAGES and LANG, then LANGUAGE, as gettext does), so
// setting LANGUAGE switches every string, fyne's own buttons included.

var savedEnv struct {
	once sync.Once
	vals map[string]*string // nil: unset
}

var localeVars = []string{"LANGUAGE", "LC_ALL", "LC_MESSAGES"}

func applyLanguage(want string, sys fyne.Locale) error {
	savedEnv.once.Do(func() {
		savedEnv.vals = map[string]*string{}
		for _, k := range localeVars {
			if v, ok := os.LookupEnv(k); ok {
				savedEnv.vals[k] = &v
			}
		}
	})
	for _, k := range localeVars {
		if v := savedEnv.vals[k]; v != nil {
			os.Setenv(k, *v)
		} else {
			os.Unsetenv(k)
		}
	}
	if baseLanguage(sys) != want {
		tag := map[string]string{"en": "en_US", "zh": "zh_CN"}[want]
		os.Setenv("LANGUAGE", tag)
		// gettext (and fyne) ignore LANGUAGE under the C locale or none.
		base, _, _ := strings.Cut(firstSet("LC_ALL", "LC_MESSAGES", "LANG"), ".")
		switch base {
		case "", "C", "POSIX":
			if os.Getenv("LC_ALL") != "" {
				os.Setenv("LC_ALL", "C.UTF-8")
			} else {
				os.Setenv("LC_MESSAGES", "C.UTF-8")
			}
		}
	}
	return reloadLocale()
}

func firstSet(keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}
