//go:build windows || (darwin && cgo)

package ui

import (
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"

	"github.com/iscdesk/iscdesk/assets"
)

// On Windows and macOS fyne asks the OS for the language, which a process
// cannot change for itself. The app's own strings follow the setting by
// registering the chosen language's file under the system's locale, which
// fyne then matches first. fyne's few built-in words (dialog buttons) are
// not in that file: fyne shows them in English, its fallback.

var override struct {
	sync.Mutex
	active bool
}

func applyLanguage(want string, sys fyne.Locale) error {
	override.Lock()
	defer override.Unlock()
	if baseLanguage(sys) == want && !override.active {
		return nil
	}
	data, err := assets.Translations.ReadFile("translations/" + translationFiles[want])
	if err != nil {
		return err
	}
	override.active = true
	return lang.AddTranslationsForLocale(data, sys)
}
