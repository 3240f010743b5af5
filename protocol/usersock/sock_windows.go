package usersock

import (
	"fmt"
	"io/fs"
	"net"
	"os"

	"golang.org/x/sys/windows"
)

// CheckDir checks that dir is a plain folder (not a symbolic link or a
// junction) owned by this user, or by the Administrators or SYSTEM, who may
// do anything on this machine anyway (a folder made by an elevated process
// of this user belongs to the Administrators). Who may enter it is left to
// its ACL: the default socket folder is in the user's profile.
func CheckDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() || st.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
		return fmt.Errorf("%w: %s is not a plain folder (%v)", ErrUnsafeFolder, dir, st.Mode().Type())
	}
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("%w: cannot read who owns %s: %v", ErrUnsafeFolder, dir, err)
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return fmt.Errorf("%w: cannot tell who owns %s", ErrUnsafeFolder, dir)
	}
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("%w: cannot tell who this user is: %v", ErrUnsafeFolder, err)
	}
	if owner.Equals(user.User.Sid) {
		return nil
	}
	for _, trusted := range []windows.WELL_KNOWN_SID_TYPE{windows.WinBuiltinAdministratorsSid, windows.WinLocalSystemSid} {
		if sid, err := windows.CreateWellKnownSid(trusted); err == nil && owner.Equals(sid) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s belongs to %s, not to this user (%s)", ErrUnsafeFolder, dir, owner, user.User.Sid)
}

// CheckPeer accepts every connection: AF_UNIX on Windows has no peer
// credentials (SO_PEERCRED), and the peer's process id that
// SIO_AF_UNIX_GETPEERPID gives cannot always be traced to its user (a
// standard process may not open an elevated one). The socket's folder, in
// the user's profile and checked by CheckDir, is what keeps other users out.
func CheckPeer(net.Conn) error { return nil }
