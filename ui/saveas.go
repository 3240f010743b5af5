//go:build !darwin || cgo

package ui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/internal/errs"
)

// ErrSaveAsCancelled is returned by ChooseSaveAs when the user closed the
// dialog without choosing. It wraps context.Canceled, so the agent reports
// the call as canceled.
var ErrSaveAsCancelled = fmt.Errorf("the user cancelled choosing where to save: %w", context.Canceled)

// ChooseSaveAs asks the user where in the cloud drive a program should save
// (the agent's SaveAs hook for SelectSaveAsPath): a file name, offered as the
// program suggested it, or an entry of the drive to replace. It brings the
// window forward with the dialog and blocks until a choice, a cancel, or
// the end of ctx; the dialog accepts only names the drive accepts
// (clouddrive.SaveAsEntry), and the agent checks the choice again. Call it
// off the UI goroutine.
func (u *UI) ChooseSaveAs(ctx context.Context, req clouddrive.SaveAsRequest) (string, error) {
	if u.deps.CloudFiles == nil {
		return "", errs.E("select save-as path", errs.Unavailable, errors.New("no cloud drive is configured"))
	}
	all, err := u.deps.CloudFiles.List(ctx)
	if err != nil {
		return "", err
	}
	// Only entries of the kind asked for can be replaced.
	var files []clouddrive.File
	for _, f := range all {
		if f.Assembly == req.Assembly {
			files = append(files, f)
		}
	}
	chosen := make(chan string, 1)
	var d dialog.Dialog
	u.doAndWait(func() { d = u.showSaveAs(req, files, chosen) })
	select {
	case name := <-chosen:
		if name == "" {
			return "", ErrSaveAsCancelled
		}
		return name, nil
	case <-ctx.Done():
		u.do(func() {
			if d != nil {
				d.Hide()
			}
		})
		return "", ctx.Err()
	}
}

// saveAsChooser is the save-as dialog (tests drive it).
type saveAsChooser struct {
	dialog *dialog.FormDialog
	name   *widget.Entry
	list   *widget.List
	hint   *widget.Label
}

// showSaveAs shows the dialog; chosen receives the file name, or "" when
// the user cancels.
func (u *UI) showSaveAs(req clouddrive.SaveAsRequest, files []clouddrive.File, chosen chan<- string) dialog.Dialog {
	u.Show()
	// The file an entry holds: an assembly's main file.
	fileOf := func(f clouddrive.File) string { return filepath.Base(f.Path) }
	name := widget.NewEntry()
	name.Validator = func(s string) error {
		if _, err := clouddrive.SaveAsEntry(clouddrive.SaveAsRequest{FileName: s, Assembly: req.Assembly}); err != nil {
			return errors.New(tr("saveas.bad_name"))
		}
		return nil
	}
	hint := caption("")
	name.OnChanged = func(s string) {
		hint.SetText("")
		for _, f := range files {
			if fileOf(f) == s {
				hint.SetText(tr("saveas.replaces"))
			}
		}
	}
	name.SetText(req.FileName)
	list := u.cloudFileList(files)
	list.OnSelected = func(i widget.ListItemID) { name.SetText(fileOf(files[i])) }
	sent := false
	send := func(s string) {
		if !sent {
			sent = true
			chosen <- s
		}
	}
	items := []*widget.FormItem{
		{Text: tr("saveas.name"), Widget: name},
		{Widget: hint},
		{Text: tr("saveas.entries"), Widget: container.NewGridWrap(fyne.NewSize(360, 200), list)},
	}
	d := dialog.NewForm(tr("saveas.title"), tr("saveas.save"), tr("action.cancel"), items, func(ok bool) {
		if ok && name.Validate() == nil {
			send(name.Text)
			return
		}
		send("")
	}, u.win)
	d.Resize(fyne.NewSize(560, 460))
	d.Show()
	u.pickerMu.Lock()
	u.saveAs = &saveAsChooser{dialog: d, name: name, list: list, hint: hint}
	u.pickerMu.Unlock()
	return d
}

// currentSaveAs is the last save-as dialog shown (tests wait for it).
func (u *UI) currentSaveAs() *saveAsChooser {
	u.pickerMu.Lock()
	defer u.pickerMu.Unlock()
	return u.saveAs
}
