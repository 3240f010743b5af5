package installer

import (
	"net/url"
	"strings"

	"github.com/iscdesk/iscdesk/internal/download"
	"github.com/iscdesk/iscdesk/internal/errs"
)

// parseSource returns the URL of a remote source, or nil for a local path.
// The download package's rules apply to a URL: HTTPS, or plain HTTP to
// this machine, since a package runs code with the user's rights.
func parseSource(source string) (*url.URL, error) {
	if source == "" {
		return nil, errs.Errorf("", errs.Invalid, "no package given")
	}
	if !strings.Contains(source, "://") {
		return nil, nil
	}
	return download.ParseURL(source)
}

// downloader is the download client of one install: the Manager's cache
// folder, proxy and extra roots.
func (m *Manager) downloader() (*download.Client, error) {
	return download.New(download.Config{CacheDir: m.cacheDir(), Proxy: m.Proxy, RootCAs: m.ExtraRootCAs})
}

// downloadProgress reports a download's progress as the install's.
func downloadProgress(progress func(Progress)) func(download.Progress) {
	return func(p download.Progress) {
		phase := PhaseDownload
		if p.Verifying {
			phase = PhaseVerify
		}
		progress(Progress{Phase: phase, Done: p.Done, Total: p.Total})
	}
}
