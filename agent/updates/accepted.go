package updates

// The newest version accepted so far, per vendor key and app, so that a
// manifest older than one seen before (a replay of a genuine, signed, but
// superseded manifest) is refused even when it is newer than the running
// program. It lives in the Downloads folder as .accepted.json:
//
//	{"<key id>": {"<app>": "<version>"}}
//
// the key id being the first 16 hex digits of the key's SHA-256, so that
// pinning another vendor key starts afresh. The file guards against a
// hostile server or network, not against the user, who may delete it.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/semver"
)

// acceptedName is the file of accepted versions in Downloads (a dot name:
// iscdesk's own, never a package's).
const acceptedName = ".accepted.json"

type acceptedVersions map[string]map[string]string

// accept refuses v when it is older than the newest version accepted for
// app under this key, and otherwise records it if it is the newest.
func (m *ManifestChecker) accept(app string, v semver.Version) error {
	m.acceptMu.Lock()
	defer m.acceptMu.Unlock()
	path := filepath.Join(m.Downloads, acceptedName)
	all := acceptedVersions{}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return errs.E(opCheck, errs.Other, err)
	default:
		// A damaged file (only the user can damage it) starts afresh
		// rather than stop every update check for good.
		if json.Unmarshal(b, &all) != nil || all == nil {
			all = acceptedVersions{}
		}
	}
	sum := sha256.Sum256(m.ServerKey)
	key := hex.EncodeToString(sum[:8])
	if all[key] == nil {
		all[key] = map[string]string{}
	}
	if seen, err := semver.Parse(all[key][app]); err == nil {
		switch c := v.Compare(seen); {
		case c < 0:
			return errs.E(opCheck, errs.Integrity, fmt.Errorf("%w: the manifest announces %s, older than %s announced before (a replayed manifest?)",
				ErrDowngrade, v, seen))
		case c == 0:
			return nil
		}
	}
	all[key][app] = v.String()
	out, err := json.Marshal(all)
	if err != nil {
		return errs.E(opCheck, errs.Other, err)
	}
	if err := os.MkdirAll(m.Downloads, 0o700); err != nil {
		return errs.E(opCheck, errs.Other, err)
	}
	if err := atomicfile.Write(path, out, 0o600); err != nil {
		return errs.E(opCheck, errs.Other, fmt.Errorf("recording the accepted version: %w", err))
	}
	return nil
}
