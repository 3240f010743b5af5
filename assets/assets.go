// Package assets holds the files the app ships besides code: the application
// icon and the translations of the desktop app (English, Simplified
// Chinese); desktop entries as the installers arrive. It imports nothing of
// the project.
package assets

import "embed"

// Icon is the application icon (512×512 PNG), also named by FyneApp.toml.
//
//go:embed icon.png
var Icon []byte

// SmallIcon is the icon at 128×128 for the running app (window, header,
// tray): decoding the 512 px one costs a megabyte per copy fyne keeps. Made
// from icon.png with ImageMagick:
// convert icon.png -filter Lanczos -resize 128x128 -strip icon-128.png
//
//go:embed icon-128.png
var SmallIcon []byte

// Translations holds translations/<language>.json, the desktop app's strings
// in go-i18n's JSON form (key → text, or key → {"one", "other"} for plurals),
// as fyne's lang package reads them. en.json is the reference: every key is
// in every file.
//
//go:embed translations/*.json
var Translations embed.FS
