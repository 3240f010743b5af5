//go:build !darwin || cgo

package ui

import (
	"context"
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/internal/errs"
)

// ErrPickCancelled is returned by PickCloudFile when the user closed the
// list without choosing. It wraps context.Canceled, so the agent reports the
// call as canceled.
var ErrPickCancelled = fmt.Errorf("the user cancelled choosing a cloud file: %w", context.Canceled)

// PickCloudFile asks the user which cloud-drive entry a program should open
// (the agent's Pick hook for OpenCloudFile). It brings the window forward
// with the list and blocks until a choice, a cancel, or the end of ctx. Call
// it off the UI goroutine.
func (u *UI) PickCloudFile(ctx context.Context) (clouddrive.File, error) {
	if u.deps.CloudFiles == nil {
		return clouddrive.File{}, errs.E("open cloud file", errs.Unavailable, errors.New("no cloud drive is configured"))
	}
	files, err := u.deps.CloudFiles.List(ctx)
	if err != nil {
		return clouddrive.File{}, err
	}
	if len(files) == 0 {
		return clouddrive.File{}, errs.E("open cloud file", errs.NotExist, errors.New("the cloud drive is empty: save a file to it first"))
	}
	chosen := make(chan int, 1)
	var d dialog.Dialog
	u.doAndWait(func() { d = u.showPicker(files, chosen) })
	select {
	case i := <-chosen:
		if i < 0 {
			return clouddrive.File{}, ErrPickCancelled
		}
		return files[i], nil
	case <-ctx.Done():
		u.do(func() {
			if d != nil {
				d.Hide()
			}
		})
		return clouddrive.File{}, ctx.Err()
	}
}

// picker is the open cloud-file dialog (tests drive it).
type picker struct {
	dialog *dialog.ConfirmDialog
	list   *widget.List
}

// showPicker shows files in a dialog; chosen receives the index, or -1.
func (u *UI) showPicker(files []clouddrive.File, chosen chan<- int) dialog.Dialog {
	u.Show()
	selected := -1
	list := u.cloudFileList(files)
	sent := false
	send := func(i int) {
		if !sent {
			sent = true
			chosen <- i
		}
	}
	list.OnSelected = func(i widget.ListItemID) { selected = i }
	body := container.NewBorder(wrapped(tr("pick.intro")), nil, nil, nil, list)
	d := dialog.NewCustomConfirm(tr("pick.title"), tr("pick.open"), tr("action.cancel"), body, func(ok bool) {
		if ok && selected >= 0 {
			send(selected)
			return
		}
		send(-1)
	}, u.win)
	d.Resize(fyne.NewSize(520, 420))
	d.Show()
	u.pickerMu.Lock()
	u.picker = &picker{dialog: d, list: list}
	u.pickerMu.Unlock()
	return d
}

// cloudFileList lists cloud-drive entries: name, kind, when saved, size.
func (u *UI) cloudFileList(files []clouddrive.File) *widget.List {
	return widget.NewList(
		func() int { return len(files) },
		func() fyne.CanvasObject {
			return container.NewBorder(nil, nil, widget.NewIcon(theme.FileIcon()), caption(""), widget.NewLabel(""))
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			f := files[i]
			row := o.(*fyne.Container)
			row.Objects[0].(*widget.Label).SetText(f.Name)
			icon := theme.FileIcon()
			if f.Assembly {
				icon = theme.FolderIcon()
			}
			row.Objects[1].(*widget.Icon).SetResource(icon)
			row.Objects[2].(*widget.Label).SetText(fmt.Sprintf("%s · %s", u.formatDateTime(f.Modified), humanBytes(f.Size)))
		},
	)
}

// currentPicker is the last file list shown (tests wait for it).
func (u *UI) currentPicker() *picker {
	u.pickerMu.Lock()
	defer u.pickerMu.Unlock()
	return u.picker
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
