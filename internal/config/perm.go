package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// The machine-wide file carries the administrator's settings for every user
// of the machine, and fixes them: solver_command runs as each user who
// solves, server and cloud_dir decide where each user's data goes. A file
// that a user other than the administrators could write (or plant, through
// its folder) would let that user choose them for everyone, so it is
// refused, saying why and how to fix it. It is not ignored: that would
// silently drop the administrator's locks.
//
// Who may change a file is read per OS (otherWriters and machineFileFix in
// perm_unix.go, perm_windows.go): on Unix the file and its folder must be
// owned by root and writable by neither group nor others; on Windows their
// owner must be Administrators, SYSTEM or TrustedInstaller and no access
// entry may grant anyone else a right to change them (ACLWriters, below,
// decides; it is pure so that it is tested on every OS).

// readMachineFile reads the machine-wide file once only administrators can
// change it and its folder. A missing file is the zero Config, as in
// readFile.
func readMachineFile(p Paths) (Config, error) {
	if err := checkMachineFile(p.Machine, p.TrustCurrentUser); err != nil {
		return Config{}, err
	}
	return readFile(p.Machine)
}

// checkMachineFile refuses a machine-wide file that someone other than the
// administrators can change: the file, or the folder holding it (where a
// file can be replaced), both after symbolic links and junctions so that a
// link cannot point into a user's folder. With trustSelf the user running
// this process counts as an administrator (tests). A missing file passes:
// there is nothing to read.
func checkMachineFile(path string, trustSelf bool) error {
	if path == "" {
		return nil
	}
	real, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	whoElse, err := otherWriters(trustSelf)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dir := filepath.Dir(real)
	var problems []string
	for _, obj := range []struct{ what, path string }{{"its folder " + dir, dir}, {"the file", real}} {
		who, err := whoElse(obj.path)
		if err != nil {
			return fmt.Errorf("config: who may change %s: %w", obj.path, err)
		}
		if who != "" {
			problems = append(problems, obj.what+": "+who)
		}
	}
	if problems == nil {
		return nil
	}
	if real != path {
		path += " (" + real + ")"
	}
	return unsafeMachineFile(path, strings.Join(problems, "; "), machineFileFix(dir, real))
}

// unsafeMachineFile is the error for a machine-wide file that others than
// the administrators can change: what (the file or its folder, and who) and
// how to fix it.
func unsafeMachineFile(file, problem, fix string) error {
	return errs.Errorf("config", errs.Permission,
		"the machine-wide settings file %s is refused: %s; the settings in it would apply to every user, so only administrators may be able to change it and its folder (%s)",
		file, problem, fix)
}

// ACL is a Windows security descriptor reduced to what decides who can
// change a file or folder: its owner and its access control list. The
// Windows adapter reads it with GetNamedSecurityInfo; tests write it by hand.
type ACL struct {
	Owner string // the owner's SID, as "S-1-5-32-544"
	// NullDACL is an object without an access control list, which grants
	// everyone everything (an empty list grants nothing).
	NullDACL bool
	Entries  []ACE
}

// ACE is one access control entry.
type ACE struct {
	SID  string // the trustee's SID; "" for an entry whose SID could not be read
	Deny bool   // an access-denied entry; false: access-allowed
	Mask uint32 // the access mask
	// InheritOnly entries apply to the children the object's folder will
	// have, not to the object itself.
	InheritOnly bool
}

// Well-known SIDs.
const (
	SIDAdministrators   = "S-1-5-32-544"
	SIDSystem           = "S-1-5-18"
	SIDTrustedInstaller = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
	SIDCreatorOwner     = "S-1-3-0"
	SIDUsers            = "S-1-5-32-545"
	SIDEveryone         = "S-1-1-0"
)

// The access rights that change a file or folder: its content (write,
// append; in a folder: add a file or a subfolder, delete a child), its
// attributes, deleting or renaming it, its permissions and its owner, and
// the generic rights that include them.
const (
	fileWriteData       = 0x2 // FILE_WRITE_DATA; FILE_ADD_FILE on a folder
	fileAppendData      = 0x4 // FILE_APPEND_DATA; FILE_ADD_SUBDIRECTORY on a folder
	fileWriteEA         = 0x10
	fileDeleteChild     = 0x40
	fileWriteAttributes = 0x100
	accessDelete        = 0x10000
	accessWriteDAC      = 0x40000
	accessWriteOwner    = 0x80000
	genericAll          = 0x10000000
	genericWrite        = 0x40000000

	// WriteRights are the rights ACLWriters looks for.
	WriteRights = fileWriteData | fileAppendData | fileWriteEA | fileDeleteChild | fileWriteAttributes |
		accessDelete | accessWriteDAC | accessWriteOwner | genericAll | genericWrite
)

// An ACLWriter is someone other than the administrators who can change an
// object.
type ACLWriter struct {
	SID   string
	Owner bool   // the object's owner, who may always change its permissions
	Mask  uint32 // the rights of WriteRights an entry grants; 0 for the owner alone
}

// trustedOwner reports whether sid may own the machine-wide file and its
// folder: Administrators, SYSTEM, TrustedInstaller (which owns what Windows
// installs), or self when it is not "".
func trustedOwner(sid, self string) bool {
	switch sid {
	case SIDAdministrators, SIDSystem, SIDTrustedInstaller:
		return true
	}
	return self != "" && sid == self
}

// ACLWriters returns who besides the administrators can change an object
// with this owner and access list: its owner unless Administrators, SYSTEM or
// TrustedInstaller, and every SID an access-allowed entry grants one of
// WriteRights, but Administrators, SYSTEM, TrustedInstaller and CREATOR
// OWNER (which stands for the owner of a child, checked on the child). self,
// when not "", is trusted as well (tests, whose temporary folders are the
// test user's). nil means only the administrators can change it.
//
// It errs on the safe side. Entries that apply to the object's children
// only are skipped (a child is checked on its own). Access-denied entries
// are not taken off what the allowed ones grant: a denied right for one
// group says nothing about the members of another, and which of a user's
// groups a deny covers is not known here. An entry whose SID is unknown ("")
// is nobody's trusted account.
func ACLWriters(a ACL, self string) []ACLWriter {
	var out []ACLWriter
	if !trustedOwner(a.Owner, self) {
		out = append(out, ACLWriter{SID: a.Owner, Owner: true})
	}
	if a.NullDACL {
		return append(out, ACLWriter{SID: SIDEveryone, Mask: WriteRights})
	}
	for _, e := range a.Entries {
		if e.Deny || e.InheritOnly || e.Mask&WriteRights == 0 {
			continue
		}
		if e.SID == SIDCreatorOwner || (e.SID != "" && trustedOwner(e.SID, self)) {
			continue
		}
		out = append(out, ACLWriter{SID: e.SID, Mask: e.Mask & WriteRights})
	}
	return out
}

// describeWriters says who can change an object, for the refusal: name
// turns a SID into an account name when it can.
func describeWriters(ws []ACLWriter, name func(sid string) string) string {
	var parts []string
	for _, w := range ws {
		who := name(w.SID)
		if w.SID == "" {
			who = "an unreadable account"
		}
		if w.Owner {
			parts = append(parts, "owned by "+who)
		} else {
			parts = append(parts, fmt.Sprintf("%s may change it (access mask %#x)", who, w.Mask))
		}
	}
	return strings.Join(parts, ", ")
}
