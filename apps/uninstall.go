package apps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"
)

// Uninstall runs the recorded package's uninstall script with its target
// folder and then forgets the package.
//
// The vendor script owns the files it installed; this client never deletes
// inside the target folder itself (it only removes the folder when the
// script left it empty). When the script fails, the steps that would make a
// retry impossible are skipped: the record and the kept scripts stay, the
// record is marked StateUninstallFailed with the reason, and the returned
// *ScriptError names the log. Running Uninstall again retries; Forget drops
// a record whose script can never succeed. When the script succeeds, every
// remaining step runs even if one fails, and the error joins all failures.
func (m *Manager) Uninstall(ctx context.Context, name string, progress func(Progress)) (err error) {
	defer func() { err = failed(opUninstall, err) }()
	if progress == nil {
		progress = func(Progress) {}
	}
	rec, unlock, err := m.lockedRecord(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	pkg := packageDir{dir: filepath.Join(m.Root, filepath.FromSlash(rec.Package)), name: rec.Name, version: rec.Version}

	progress(Progress{Phase: PhaseUninstall})
	logPath := m.logPath(rec.Name, "uninstall", time.Now())
	scriptErr := m.runScript(ctx, pkg, uninstallScript, rec.Dir, logPath)
	// A folder the script emptied but left behind is ours to tidy; a folder
	// with files in it is the vendor's business.
	_ = os.Remove(rec.Dir)
	if scriptErr != nil {
		rec.State, rec.Error, rec.Log = StateUninstallFailed, scriptErr.Error(), logPath
		return errors.Join(scriptErr, m.updateRecords(func(r *records) { r.put(rec) }))
	}
	errRecord := m.updateRecords(func(r *records) { r.remove(rec.Name) })
	errPackage := os.RemoveAll(pkg.dir)
	return errors.Join(errRecord, errPackage)
}

// Forget drops the record of a package without running any script, and
// deletes its kept package folder: for a package whose uninstall script can
// never succeed. The installed files stay where they are.
func (m *Manager) Forget(ctx context.Context, name string) (err error) {
	defer func() { err = failed(opForget, err) }()
	rec, unlock, err := m.lockedRecord(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	errRecord := m.updateRecords(func(r *records) { r.remove(rec.Name) })
	return errors.Join(errRecord, os.RemoveAll(filepath.Join(m.Root, filepath.FromSlash(rec.Package))))
}
