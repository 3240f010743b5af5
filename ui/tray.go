//go:build !darwin || cgo

package ui

import (
	"bytes"
	"image"
	"image/color"
	"image/png"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	xdraw "golang.org/x/image/draw"
)

// trayIconSize is the side of the tray icon: trays show 16–32 px (64 for
// HiDPI), and a smaller picture crosses D-Bus faster than the 512 px icon.
const trayIconSize = 64

// trayMenu is the system tray icon: the license state at a glance (a badge
// on the icon, the first menu line) and the quick actions.
type trayMenu struct {
	u     *UI
	desk  desktop.App
	icons map[string]fyne.Resource // by badge colour
}

// setupTray puts the app in the system tray; it reports false when the
// app has no tray (test app, or none on this desktop).
func (u *UI) setupTray() bool {
	desk, ok := u.app.(desktop.App)
	if !ok || !u.deps.HasTray {
		return false
	}
	u.tray = &trayMenu{u: u, desk: desk, icons: map[string]fyne.Resource{}}
	// The tray then shows the window on a click, and closing the window
	// hides it: the agent keeps serving programs.
	desk.SetSystemTrayWindow(u.win)
	u.tray.rebuild()
	return true
}

// rebuild sets the menu anew (after a language switch or a state change).
func (t *trayMenu) rebuild() {
	t.desk.SetSystemTrayMenu(t.menu())
	t.desk.SetSystemTrayIcon(t.icon(t.u.license))
}

func (t *trayMenu) menu() *fyne.Menu {
	u := t.u
	state := fyne.NewMenuItem(tr("tray.state", map[string]any{"State": u.license.headline()}), nil)
	state.Disabled = true
	quit := fyne.NewMenuItem(tr("tray.quit"), u.app.Quit)
	quit.IsQuit = true
	return fyne.NewMenu(tr("app.name"),
		state,
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem(tr("tray.show"), u.Show),
		fyne.NewMenuItem(tr("tray.recheck"), func() { u.refresh(true, false) }),
		fyne.NewMenuItemSeparator(),
		quit,
	)
}

// icon is the app icon with a badge for a license that needs attention.
func (t *trayMenu) icon(v licenseView) fyne.Resource {
	var badge color.Color
	name := "plain"
	switch {
	case v.phase == phaseInvalid || v.phase == phaseError:
		badge, name = color.NRGBA{R: 0xe5, G: 0x39, B: 0x35, A: 0xff}, "error"
	case v.phase == phaseGrace || v.expiresSoon():
		badge, name = color.NRGBA{R: 0xfb, G: 0x8c, B: 0x00, A: 0xff}, "warning"
	case v.phase == phaseNone:
		badge, name = color.NRGBA{R: 0x90, G: 0x90, B: 0x90, A: 0xff}, "none"
	}
	if r, ok := t.icons[name]; ok {
		return r
	}
	r := trayIcon(t.u.icon(), name, badge)
	t.icons[name] = r
	return r
}

// trayIcon scales the app icon down and draws a round badge of colour c in
// its lower right corner (none for a nil c).
func trayIcon(app fyne.Resource, name string, c color.Color) fyne.Resource {
	if app == nil {
		return nil
	}
	src, err := png.Decode(bytes.NewReader(app.Content()))
	if err != nil {
		return app
	}
	dst := image.NewNRGBA(image.Rect(0, 0, trayIconSize, trayIconSize))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), xdraw.Over, nil)
	if c != nil {
		const r, border = trayIconSize * 0.22, 3.0
		cx, cy := float64(trayIconSize)-r-1, float64(trayIconSize)-r-1
		for y := 0; y < trayIconSize; y++ {
			for x := 0; x < trayIconSize; x++ {
				dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
				d2 := dx*dx + dy*dy
				switch {
				case d2 <= (r-border)*(r-border):
					dst.Set(x, y, c)
				case d2 <= r*r:
					dst.Set(x, y, color.White)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, dst); err != nil {
		return app
	}
	return fyne.NewStaticResource("tray-"+name+".png", buf.Bytes())
}
