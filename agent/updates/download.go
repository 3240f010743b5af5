package updates

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/iscdesk/iscdesk/internal/download"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/safename"
)

// download fetches the package of u through the one hardened downloader
// (internal/download: HTTPS or loopback HTTP only, redirects checked, resumed
// after an interruption, a size cap, the SHA-256 checked before the file is
// used) and moves it into Downloads as <version>-<name>. Its errors carry
// their kind: Unavailable when the package cannot be fetched, Integrity when
// its SHA-256 is not the manifest's, Canceled when ctx ended, Invalid for a
// version or file name that cannot be a file name.
func (m *ManifestChecker) download(ctx context.Context, u Update) error {
	if u.SHA256 == "" {
		return errs.Errorf(opDownload, errs.Integrity, "the manifest gives no sha256 for the package: not downloaded")
	}
	if _, err := download.ParseSHA256(u.SHA256); err != nil {
		return errs.E(opDownload, errs.Integrity, fmt.Errorf("the manifest's sha256: %w", err))
	}
	src, err := download.ParseURL(u.URL)
	if err != nil || src == nil {
		return errs.E(opDownload, errs.Invalid, fmt.Errorf("the manifest's url: %v", err))
	}
	name := path.Base(src.Path)
	if name == "." || name == "/" || name == "" {
		name = "update"
	}
	name = u.Version + "-" + name
	if err := safename.Check(name); err != nil {
		return errs.E(opDownload, errs.Invalid, fmt.Errorf("update file name %q: %v", name, err))
	}
	// An interrupted download waits in .partial to be resumed; the folder
	// goes once nothing is left in it.
	cache := filepath.Join(m.Downloads, ".partial")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return errs.E(opDownload, errs.Other, err)
	}
	defer os.Remove(cache)
	// Two programs asking at once would share the partial file: one at a
	// time (one agent serves a user, so a mutex is enough).
	m.mu.Lock()
	defer m.mu.Unlock()
	client, err := download.New(download.Config{CacheDir: cache, HTTPClient: m.HTTP, Proxy: m.Proxy})
	if err != nil {
		return err
	}
	defer client.Close()
	part, err := client.Fetch(ctx, u.URL, download.Options{SHA256: u.SHA256})
	if err != nil {
		return errs.E(opDownload, errs.Other, err)
	}
	defer download.Remove(part) // the resume information; the file itself is moved
	if err := os.Rename(part, filepath.Join(m.Downloads, name)); err != nil {
		return errs.E(opDownload, errs.Other, fmt.Errorf("keeping the update package: %w", err))
	}
	return nil
}

const opDownload = "update download"
