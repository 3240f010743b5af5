package updates

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// download fetches the package of u into Downloads as <version>-<name> and
// checks its SHA-256 against the manifest's; a package that fails the check
// is removed. It is kept apart, in this file alone, so that it can give way
// to the project's one hardened downloader. Its errors carry their kind
// (internal/errs): Unavailable when the package cannot be fetched, Integrity
// when its SHA-256 is not the manifest's, Canceled when ctx ended.
func (m *ManifestChecker) download(ctx context.Context, u Update) error {
	if err := os.MkdirAll(m.Downloads, 0o700); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.URL, nil)
	if err != nil {
		return err
	}
	resp, err := m.client().Do(req)
	if err != nil {
		return errs.E(opDownload, unreachable(ctx), fmt.Errorf("downloading the update: %w", err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &errs.Error{Op: opDownload, Kind: errs.Unavailable, Code: fmt.Sprintf("HTTP %d", resp.StatusCode),
			Err: errors.New("downloading the update failed")}
	}
	f, err := os.CreateTemp(m.Downloads, ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return errs.E(opDownload, unreachable(ctx), fmt.Errorf("downloading the update: %w", err))
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, u.SHA256) {
		return errs.Errorf(opDownload, errs.Integrity, "the update package's SHA-256 is %s, the manifest says %s: not installed", got, u.SHA256)
	}
	name := path.Base(req.URL.Path)
	if name == "." || name == "/" || name == "" {
		name = "update"
	}
	return os.Rename(f.Name(), filepath.Join(m.Downloads, u.Version+"-"+name))
}

const opDownload = "update download"

// unreachable is the kind of a failed transfer: Canceled when the caller gave
// up, Unavailable otherwise.
func unreachable(ctx context.Context) errs.Kind {
	if ctx.Err() != nil {
		return errs.Canceled
	}
	return errs.Unavailable
}
