package filecopy

import (
	"os"
	"path/filepath"
)

// Commit puts the verified copy tmp (a file or a folder) in place of dst by
// one rename, so a reader of dst finds the old entry or the new one, never a
// mix, and syncs dst's folder so the rename survives a crash. tmp must be on
// dst's file system (create it in dst's folder), and a folder can replace
// only a missing entry (see Exchange).
func Commit(tmp, dst string) error {
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	SyncDir(filepath.Dir(dst))
	return nil
}

// SyncDir makes a folder's entries durable. Best effort: not every system
// can sync a folder (Windows cannot open one for it).
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
