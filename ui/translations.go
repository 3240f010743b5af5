//go:build !darwin || cgo

package ui

import (
	"fmt"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"

	"github.com/iscdesk/iscdesk/assets"
	// Before fyne's lang package reads the locale (see its comment).
	_ "github.com/iscdesk/iscdesk/internal/localeenv"
)

// Languages the app ships, as stored in the "language" setting ("" follows
// the system).
var Languages = []string{"", "en", "zh"}

// translationFiles maps a language setting to its file in
// assets/translations (go-i18n reads the language from the file name).
var translationFiles = map[string]string{"en": "en.json", "zh": "zh-Hans.json"}

var loadOnce sync.Once

// LoadTranslations registers the app's strings with fyne's lang package.
// Call it once, before building the window; ApplyLanguage calls it too.
func LoadTranslations() (err error) {
	loadOnce.Do(func() { err = lang.AddTranslationsFS(assets.Translations, "translations") })
	return err
}

// ApplyLanguage makes code ("", "en" or "zh") the language of every string
// created from now on; the window rebuilds its screens to follow
// (UI.SetLanguage). How depends on the OS: see applyLanguage.
func ApplyLanguage(code string) error {
	if _, ok := translationFiles[code]; !ok && code != "" {
		return fmt.Errorf("ui: unknown language %q", code)
	}
	if err := LoadTranslations(); err != nil {
		return err
	}
	sys := systemLocale()
	want := code
	if want == "" {
		// The app ships English and Simplified Chinese only: any other
		// system language gets English, so that no string shows its key.
		want = "en"
		if baseLanguage(sys) == "zh" {
			want = "zh"
		}
	}
	return applyLanguage(want, sys)
}

var system struct {
	once   sync.Once
	locale fyne.Locale
}

// systemLocale is the system's locale as it was before ApplyLanguage changed
// anything (on Linux it changes the environment fyne reads).
func systemLocale() fyne.Locale {
	system.once.Do(func() { system.locale = lang.SystemLocale() })
	return system.locale
}

func baseLanguage(l fyne.Locale) string {
	base, _, _ := strings.Cut(l.LanguageString(), "-")
	return strings.ToLower(base)
}

// reloadLocale makes fyne pick the language again: it does so after every
// translation file added, and an empty one is the cheapest.
func reloadLocale() error { return lang.AddTranslationsForLocale([]byte("{}"), "en") }

// tr translates the message with key, filling {{.Name}} from data.
func tr(key string, data ...any) string { return lang.L(key, data...) }

// trN translates a message with plural forms ("one", "other") for count.
func trN(key string, count int, data ...any) string { return lang.N(key, count, data...) }
