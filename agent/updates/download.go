package updates

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/internal/download"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/safename"
)

// packageTypes are the extensions a kept package may have (compound ones,
// .tar.gz, before any they end with): the installer that runs after the
// program exits goes by them. The name is ours; the URL only chooses among
// these.
var packageTypes = []string{".tar.gz", ".tar.xz", ".tar.zst", ".AppImage", ".tgz", ".zip", ".msi", ".exe", ".deb", ".rpm", ".pkg", ".dmg"}

// packageName is the file name the package of app's version is kept under in
// Downloads: <version>-<app><type>. None of it is the server's: the version
// passed the strict check (no separator, no ".."), the app is the program's
// own name made safe (safename), and the type is one of packageTypes,
// chosen by how the URL's path ends, or none.
func packageName(app, version, rawURL string) (string, error) {
	ext := ""
	if u, err := url.Parse(rawURL); err == nil {
		for _, t := range packageTypes {
			if strings.HasSuffix(strings.ToLower(u.Path), strings.ToLower(t)) {
				ext = t
				break
			}
		}
	}
	// A version is at most 64 bytes, so at least 26 are left for the app.
	room := safename.MaxLen - len(version) - len("-") - len(ext)
	base := safename.Sanitize(app)
	for len(base) > room {
		_, size := utf8.DecodeLastRuneInString(base)
		base = safename.Sanitize(base[:len(base)-size])
	}
	if base == "" {
		base = "update"
	}
	name := version + "-" + base + ext
	// Cannot fail for a checked version; kept as the last word on what
	// becomes a path.
	if err := safename.Check(name); err != nil {
		return "", errs.E(opDownload, errs.Invalid, fmt.Errorf("update file name %q: %v", name, err))
	}
	return name, nil
}

// download fetches the package of u through the one hardened downloader
// (internal/download: HTTPS or loopback HTTP only, no redirect away from the
// host the signed manifest names, resumed after an interruption, capped at
// the manifest's size, the SHA-256 checked before the file is used) and
// moves it into Downloads under packageName. Its errors carry their kind:
// Unavailable when the package cannot be fetched, Integrity when it is
// larger than announced or its SHA-256 is not the manifest's, Invalid for a
// refused redirect, Canceled when ctx ended.
func (m *ManifestChecker) download(ctx context.Context, app string, u Update) error {
	name, err := packageName(app, u.Version, u.URL)
	if err != nil {
		return err
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
	client, err := download.New(download.Config{CacheDir: cache, HTTPClient: m.HTTP, Proxy: m.Proxy, SameOriginRedirects: true})
	if err != nil {
		return err
	}
	defer client.Close()
	part, err := client.Fetch(ctx, u.URL, download.Options{SHA256: u.SHA256, MaxBytes: u.Size})
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
