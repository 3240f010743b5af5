package config

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// otherWriters returns a function that says who besides the administrators
// can change a file or folder, from its owner and access list (ACLWriters);
// "" for nobody. With trustSelf the user running this process is trusted
// too.
func otherWriters(trustSelf bool) (func(path string) (string, error), error) {
	self := ""
	if trustSelf {
		u, err := windows.GetCurrentProcessToken().GetTokenUser()
		if err != nil {
			return nil, fmt.Errorf("the current user: %w", err)
		}
		self = u.User.Sid.String()
	}
	return func(path string) (string, error) {
		acl, err := readACL(path)
		if err != nil {
			return "", err
		}
		return describeWriters(ACLWriters(acl, self), accountName), nil
	}, nil
}

// machineFileFix says how to fix a refused machine-wide file.
func machineFileFix(dir, file string) string {
	return fmt.Sprintf("an administrator can run the iscdesk installer again with the settings: it gives %s to the administrators (full control for Administrators and SYSTEM, read for Users) and replaces %s with a new file; or delete the file", dir, file)
}

// readACL reads the owner and the access list of a file or folder.
func readACL(path string) (ACL, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return ACL{}, err
	}
	if sd == nil {
		// No security descriptor at all (a file system without
		// permissions, such as FAT): anyone can change anything.
		return ACL{NullDACL: true}, nil
	}
	var a ACL
	owner, _, err := sd.Owner()
	if err != nil {
		return ACL{}, err
	}
	if owner != nil {
		a.Owner = owner.String()
	}
	dacl, _, err := sd.DACL()
	if errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND) || (err == nil && dacl == nil) {
		a.NullDACL = true
		return a, nil
	}
	if err != nil {
		return ACL{}, err
	}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return ACL{}, err
		}
		a.Entries = append(a.Entries, aceOf(ace))
	}
	return a, nil
}

// The access entry types of a file's access list (winnt.h). Object entries
// (5, 6, 11, 12) belong to directory objects, not files; their SID sits
// elsewhere and is left unread: an allowed one then counts as granted to an
// untrusted account.
const (
	aceAllowed         = 0x0
	aceDenied          = 0x1
	aceAllowedCallback = 0x9
	aceDeniedCallback  = 0xa
	aceDeniedObject    = 0x6
	aceDeniedCbObject  = 0xc
)

// aceOf reads one access entry. An entry of a type it does not know counts
// as allowing its mask to an unknown account.
func aceOf(ace *windows.ACCESS_ALLOWED_ACE) ACE {
	e := ACE{Mask: uint32(ace.Mask), InheritOnly: ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0}
	switch ace.Header.AceType {
	case aceDenied, aceDeniedCallback, aceDeniedObject, aceDeniedCbObject:
		e.Deny = true
	}
	switch ace.Header.AceType {
	case aceAllowed, aceDenied, aceAllowedCallback, aceDeniedCallback:
		// The SID starts at SidStart and runs within the entry.
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if sid.IsValid() {
			e.SID = sid.String()
		}
	}
	return e
}

// accountName is "DOMAIN\name (SID)", or the SID when it names no account.
func accountName(sid string) string {
	s, err := windows.StringToSid(sid)
	if err != nil {
		return sid
	}
	account, domain, _, err := s.LookupAccount("")
	if err != nil {
		return sid
	}
	if domain != "" {
		account = domain + `\` + account
	}
	return account + " (" + sid + ")"
}
