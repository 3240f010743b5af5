//go:build !darwin || cgo

package ui

import (
	"context"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/iscdesk/iscdesk/internal/config"
)

// settingsScreen edits the user's settings, the vendor's license server
// among them; what the administrator set machine-wide is shown read-only.
// No secret is entered here: the license server holds the marketplace's.
type settingsScreen struct {
	u       *UI
	content fyne.CanvasObject

	server, proxy, grace, cloud, solver *widget.Entry
	language                            *widget.Select
	rows                                []settingRow
	save                                *widget.Button
	saved                               *widget.Label
	problem                             *problemPanel
	loaded                              config.Config
	fetched                             bool
}

// languageNames are shown in their own language, so that anyone finds theirs.
var languageNames = map[string]string{"en": "English", "zh": "简体中文"}

func newSettingsScreen(u *UI) *settingsScreen {
	s := &settingsScreen{u: u, problem: newProblemPanel()}
	s.server = widget.NewEntry()
	s.server.SetPlaceHolder(tr("settings.server.default"))
	s.proxy = widget.NewEntry()
	s.proxy.SetPlaceHolder(tr("settings.proxy.default"))
	s.grace = widget.NewEntry()
	s.grace.SetPlaceHolder(tr("settings.grace.default"))
	s.cloud = widget.NewEntry()
	s.cloud.SetPlaceHolder(tr("settings.cloud.default"))
	s.solver = widget.NewMultiLineEntry()
	s.solver.SetPlaceHolder(tr("settings.solver.placeholder"))
	s.solver.SetMinRowsVisible(3)
	options := []string{tr("settings.language.system")}
	for _, code := range Languages[1:] {
		options = append(options, languageNames[code])
	}
	s.language = widget.NewSelect(options, nil)

	s.rows = []settingRow{
		newSettingRow("server", tr("settings.server"), s.server),
		newSettingRow("proxy", tr("settings.proxy"), s.proxy),
		newSettingRow("grace_days", tr("settings.grace"), s.grace),
		newSettingRow("cloud_dir", tr("settings.cloud"), s.cloud),
		newSettingRow("solver_command", tr("settings.solver"), s.solver),
		newSettingRow("language", tr("settings.language"), s.language),
	}
	var grid []fyne.CanvasObject
	for _, r := range s.rows {
		grid = append(grid, r.label, container.NewVBox(r.input, r.note))
	}
	form := fieldGrid(grid...)
	s.save = widget.NewButtonWithIcon(tr("settings.save"), theme.DocumentSaveIcon(), s.submit)
	s.save.Importance = widget.HighImportance
	s.saved = caption("")

	var body []fyne.CanvasObject
	if u.deps.Settings == nil {
		body = append(body, wrapped(tr("screen.unavailable")))
	} else {
		body = append(body, widget.NewCard(tr("settings.general"), "", container.NewVBox(
			form, container.NewHBox(s.save, s.saved), s.problem.box)))
	}
	s.content = page(tr("settings.title"), tr("settings.intro"), body...)
	return s
}

// load reads the settings in the background the first time the screen
// shows: a later visit keeps what the user typed but did not save yet.
func (s *settingsScreen) load() {
	if s.fetched {
		return
	}
	s.fetched = true
	if s.u.deps.Settings != nil {
		s.u.bg(localTimeout, func(context.Context) func() {
			c, err := s.u.deps.Settings.Load()
			return func() {
				if err != nil {
					s.fetched = false // try again on the next visit
					s.problem.show(problem{Title: tr("settings.load_failed"), Advice: tr("settings.load_failed_advice"), Detail: err.Error()}, nil)
					return
				}
				s.fill(c)
			}
		})
	}
}

func (s *settingsScreen) fill(c config.Config) {
	s.loaded = c
	s.server.SetText(c.Server)
	s.proxy.SetText(c.Proxy)
	s.grace.SetText("")
	if c.GraceDays > 0 {
		s.grace.SetText(strconv.Itoa(c.GraceDays))
	}
	s.cloud.SetText(c.CloudDir)
	s.solver.SetText(strings.Join(c.SolverCommand, "\n"))
	s.language.SetSelectedIndex(languageIndex(c.Language))

	for _, r := range s.rows {
		r.lock(c.Locked[r.key])
	}
}

// settingRow is one setting: its name, its input, and a note shown when the
// administrator fixed it machine-wide.
type settingRow struct {
	key   string // the config file's key, as in config.Config.Locked
	label *widget.Label
	input input
	note  *widget.Label
}

// input is a widget that can be made read-only.
type input interface {
	fyne.CanvasObject
	fyne.Disableable
}

func newSettingRow(key, name string, input input) settingRow {
	note := caption(tr("settings.locked"))
	note.Hide()
	return settingRow{key: key, label: widget.NewLabelWithStyle(name, fyne.TextAlignTrailing, fyne.TextStyle{}), input: input, note: note}
}

func (r settingRow) lock(locked bool) {
	if locked {
		r.input.Disable()
		r.note.Show()
	} else {
		r.input.Enable()
		r.note.Hide()
	}
}

func languageIndex(code string) int {
	for i, c := range Languages {
		if c == code {
			return i
		}
	}
	return 0
}

// edited is the loaded configuration with the user's changes.
func (s *settingsScreen) edited() (config.Config, error) {
	c := s.loaded
	c.Server = strings.TrimSpace(s.server.Text)
	c.Proxy = strings.TrimSpace(s.proxy.Text)
	c.GraceDays = 0
	if g := strings.TrimSpace(s.grace.Text); g != "" {
		n, err := strconv.Atoi(g)
		if err != nil {
			return c, errorString(tr("settings.grace.invalid"))
		}
		c.GraceDays = n
	}
	c.CloudDir = strings.TrimSpace(s.cloud.Text)
	c.SolverCommand = nil
	for _, line := range strings.Split(s.solver.Text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			c.SolverCommand = append(c.SolverCommand, line)
		}
	}
	if i := s.language.SelectedIndex(); i >= 0 && i < len(Languages) {
		c.Language = Languages[i]
	}
	return c, c.Validate()
}

type errorString string

func (e errorString) Error() string { return string(e) }

func (s *settingsScreen) submit() {
	c, err := s.edited()
	if err != nil {
		s.problem.show(problem{Title: tr("settings.invalid"), Advice: err.Error()}, nil)
		return
	}
	s.problem.hide()
	s.save.Disable()
	languageChanged := c.Language != s.loaded.Language
	s.u.bg(localTimeout, func(context.Context) func() {
		err := s.u.deps.Settings.Save(c)
		return func() {
			s.save.Enable()
			if err != nil {
				s.problem.show(problem{Title: tr("settings.save_failed"), Advice: tr("settings.save_failed_advice"), Detail: err.Error()}, s.submit)
				return
			}
			s.loaded = c
			s.saved.SetText(tr("settings.saved"))
			if languageChanged {
				s.u.SetLanguage(c.Language)
			}
		}
	})
}
