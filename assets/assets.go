// Package assets holds the files the app ships besides code: the application
// icon now; translations and desktop entries as the desktop app and the
// installers arrive. It imports nothing of the project.
package assets

import _ "embed"

// Icon is the application icon (512×512 PNG), also named by FyneApp.toml.
//
//go:embed icon.png
var Icon []byte
