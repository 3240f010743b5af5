//go:build unix

package config

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// otherWriters returns a function that says who besides root can change a
// file or folder: its owner unless root (or, with trustSelf, the user
// running this process), and its group or everyone when the mode lets them
// write; "" for nobody.
func otherWriters(trustSelf bool) (func(path string) (string, error), error) {
	self := -1
	if trustSelf {
		self = os.Geteuid()
	}
	return func(path string) (string, error) {
		info, err := os.Stat(path)
		if err != nil {
			return "", err
		}
		return unixWriters(info, self), nil
	}, nil
}

// machineFileFix says how to fix a refused machine-wide file.
func machineFileFix(dir, file string) string {
	return fmt.Sprintf("as root: chown root %q %q && chmod go-w %q %q, or run the iscdesk installer again with the settings", dir, file, dir, file)
}

// unixWriters says who besides root (and self, when not -1) can change a
// file or folder with this status, "" for nobody.
func unixWriters(info fs.FileInfo, self int) string {
	var p []string
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if uid := int(st.Uid); uid != 0 && uid != self {
			p = append(p, "owned by "+userName(uid))
		}
	} else {
		p = append(p, "of an unknown owner")
	}
	mode := info.Mode()
	var writers []string
	if mode&0o020 != 0 {
		writers = append(writers, "its group")
	}
	if mode&0o002 != 0 {
		writers = append(writers, "everyone")
	}
	if writers != nil {
		p = append(p, "writable by "+strings.Join(writers, " and by "))
	}
	if p == nil {
		return ""
	}
	return strings.Join(p, ", ") + fmt.Sprintf(" (mode %v)", mode)
}

// userName is "name (uid N)", or "uid N" when the name cannot be found.
func userName(uid int) string {
	id := strconv.Itoa(uid)
	if u, err := user.LookupId(id); err == nil && u.Username != "" {
		return u.Username + " (uid " + id + ")"
	}
	return "uid " + id
}
