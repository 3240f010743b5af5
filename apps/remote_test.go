//go:build unix

package apps

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/download/downloadtest"
	"github.com/iscdesk/iscdesk/internal/errs"
)

// The downloader's own rules (resume, redirects, size cap) are tested in
// internal/download; these tests check what an install adds: the record,
// the cache emptied, nothing left on a failure.

// tlsServer starts s over HTTPS on loopback and returns a Manager that
// trusts its certificate.
func tlsServer(t *testing.T, s http.Handler) (*Manager, string, *httptest.Server) {
	t.Helper()
	srv := httptest.NewTLSServer(s)
	t.Cleanup(srv.Close)
	m, base := testManager(t)
	m.ExtraRootCAs = append(m.ExtraRootCAs, srv.Certificate())
	return m, base, srv
}

func TestInstallFromHTTPS(t *testing.T) {
	scratch := t.TempDir()
	data, _ := os.ReadFile(makeArchive(t, scratch, "software.tar.gz", "tar.gz", vendorEntries("acme/", manifestV1)))
	ps := downloadtest.NewServer(data)
	m, base, srv := tlsServer(t, ps)
	url := srv.URL + "/files/software.tar.gz?token=s3cr3t"
	var last Progress
	rec, err := m.Install(context.Background(), url, InstallOptions{Progress: func(p Progress) {
		if p.Phase == PhaseDownload {
			last = p
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Name != "acme-cad" || strings.Contains(rec.Source, "s3cr3t") || !strings.HasSuffix(rec.Source, "/files/software.tar.gz") {
		t.Errorf("record %+v", rec)
	}
	assertInstalled(t, rec.Dir)
	if last.Done != int64(len(data)) || last.Total != int64(len(data)) {
		t.Errorf("last download progress %+v, size %d", last, len(data))
	}
	if left, _ := os.ReadDir(m.cacheDir()); len(left) != 0 {
		t.Errorf("download cache not emptied: %v", left)
	}
	assertClean(t, m, base)

	// Without the test CA the certificate is refused, and not retried.
	m.ExtraRootCAs = nil
	before := len(ps.RangeHeaders())
	if _, err := m.Install(context.Background(), url, InstallOptions{}); !errs.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if n := len(ps.RangeHeaders()) - before; n != 0 {
		t.Errorf("%d requests reached the server with an untrusted certificate", n)
	}
}

func TestInstallURLRules(t *testing.T) {
	m, _ := testManager(t)
	for _, u := range []string{"http://example.com/software.tar.gz", "ftp://example.com/software.zip", "file:///tmp/software.zip", "https:///nohost"} {
		if _, err := m.Install(context.Background(), u, InstallOptions{}); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: %v", u, err)
		}
	}
	// Plain HTTP to this machine is fine.
	scratch := t.TempDir()
	data, _ := os.ReadFile(makeArchive(t, scratch, "software.zip", "zip", vendorEntries("", manifestV1)))
	srv := httptest.NewServer(downloadtest.NewServer(data))
	defer srv.Close()
	if _, err := m.Install(context.Background(), srv.URL+"/ok/software.zip", InstallOptions{}); err != nil {
		t.Errorf("http to loopback: %v", err)
	}
}

func TestDownloadWrongSHA256(t *testing.T) {
	scratch := t.TempDir()
	data, _ := os.ReadFile(makeArchive(t, scratch, "software.tar.gz", "tar.gz", vendorEntries("", manifestV1)))
	m, base, srv := tlsServer(t, downloadtest.NewServer(data))
	_, err := m.Install(context.Background(), srv.URL+"/software.tar.gz", InstallOptions{SHA256: strings.Repeat("0", 64)})
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("got %v", err)
	}
	if left, _ := os.ReadDir(m.cacheDir()); len(left) != 0 {
		t.Errorf("a download that failed its check was kept: %v", left)
	}
	if list, _ := m.List(); len(list) != 0 {
		t.Errorf("recorded %v", list)
	}
	assertClean(t, m, base)
}
