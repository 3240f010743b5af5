package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// Security descriptors as Windows reports them, for ACLWriters. The masks
// are what icacls abbreviates: F full control, M modify, RX read and
// execute; WD,AD,WEA,WA the "create files / create folders" entry
// %ProgramData% gives Users on itself and its subfolders.
const (
	maskFull      = 0x1f01ff
	maskModify    = 0x1301bf
	maskReadExec  = 0x1200a9
	maskUsersAdd  = 0x116 // WD, AD, WEA, WA
	sidAliceUser  = "S-1-5-21-1004336348-1177238915-682003330-1001"
	sidAuthUsers  = "S-1-5-11"
	sidTestRunner = "S-1-5-21-1004336348-1177238915-682003330-1002"
)

var (
	aceSystem = ACE{SID: SIDSystem, Mask: maskFull}
	aceAdmins = ACE{SID: SIDAdministrators, Mask: maskFull}
	aceUsers  = ACE{SID: SIDUsers, Mask: maskReadExec}
	// CREATOR OWNER's entry is for the folder's future children only.
	aceCreatorOwner = ACE{SID: SIDCreatorOwner, Mask: genericAll, InheritOnly: true}
)

var aclCases = []struct {
	name string
	acl  ACL
	self string
	want []ACLWriter // nil: only administrators can change it
}{
	{
		// What the installers set: owner Administrators, nothing inherited.
		name: "the installers' folder",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{aceSystem, aceAdmins, aceUsers}},
	},
	{
		// A folder an installer made in %ProgramData% and left to inherit
		// (the MSI before): Users may create files in it.
		name: "%ProgramData% inherited",
		acl: ACL{Owner: SIDAdministrators, Entries: []ACE{
			aceSystem, aceAdmins, aceCreatorOwner, aceUsers, {SID: SIDUsers, Mask: maskUsersAdd},
		}},
		want: []ACLWriter{{SID: SIDUsers, Mask: maskUsersAdd}},
	},
	{
		// The folder a user made before the install: theirs, and
		// CREATOR OWNER's entry became one for them.
		name: "a folder a user made",
		acl: ACL{Owner: sidAliceUser, Entries: []ACE{
			aceSystem, aceAdmins, {SID: sidAliceUser, Mask: maskFull}, aceCreatorOwner, aceUsers, {SID: SIDUsers, Mask: maskUsersAdd},
		}},
		want: []ACLWriter{
			{SID: sidAliceUser, Owner: true},
			{SID: sidAliceUser, Mask: maskFull & WriteRights},
			{SID: SIDUsers, Mask: maskUsersAdd},
		},
	},
	{
		// A config.json a user put in the folder: owned by them, and what
		// it inherited from the secured folder grants them nothing more.
		name: "a file a user made",
		acl:  ACL{Owner: sidAliceUser, Entries: []ACE{aceSystem, aceAdmins, aceUsers}},
		want: []ACLWriter{{SID: sidAliceUser, Owner: true}},
	},
	{
		name: "owned by Users",
		acl:  ACL{Owner: SIDUsers, Entries: []ACE{aceSystem, aceAdmins, aceUsers}},
		want: []ACLWriter{{SID: SIDUsers, Owner: true}},
	},
	{
		name: "owned by SYSTEM",
		acl:  ACL{Owner: SIDSystem, Entries: []ACE{aceSystem, aceAdmins, aceUsers}},
	},
	{
		name: "owned by TrustedInstaller",
		acl:  ACL{Owner: SIDTrustedInstaller, Entries: []ACE{aceSystem, aceAdmins, aceUsers, {SID: SIDTrustedInstaller, Mask: maskFull}}},
	},
	{
		name: "no access list: everyone may do anything",
		acl:  ACL{Owner: SIDAdministrators, NullDACL: true},
		want: []ACLWriter{{SID: SIDEveryone, Mask: WriteRights}},
	},
	{
		name: "an empty access list grants nothing",
		acl:  ACL{Owner: SIDAdministrators},
	},
	{
		name: "Authenticated Users may modify",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{aceSystem, aceAdmins, {SID: sidAuthUsers, Mask: maskModify}}},
		want: []ACLWriter{{SID: sidAuthUsers, Mask: maskModify & WriteRights}},
	},
	{
		name: "Everyone GENERIC_WRITE",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{aceSystem, aceAdmins, {SID: SIDEveryone, Mask: genericWrite}}},
		want: []ACLWriter{{SID: SIDEveryone, Mask: genericWrite}},
	},
	{
		name: "Users GENERIC_ALL",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{{SID: SIDUsers, Mask: genericAll}}},
		want: []ACLWriter{{SID: SIDUsers, Mask: genericAll}},
	},
	{
		name: "Users may change the permissions",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{aceAdmins, {SID: SIDUsers, Mask: maskReadExec | accessWriteDAC}}},
		want: []ACLWriter{{SID: SIDUsers, Mask: accessWriteDAC}},
	},
	{
		name: "Users may take ownership",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{aceAdmins, {SID: SIDUsers, Mask: accessWriteOwner}}},
		want: []ACLWriter{{SID: SIDUsers, Mask: accessWriteOwner}},
	},
	{
		// Deleting the file drops the administrator's settings.
		name: "Users may delete",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{aceAdmins, {SID: SIDUsers, Mask: maskReadExec | accessDelete}}},
		want: []ACLWriter{{SID: SIDUsers, Mask: accessDelete}},
	},
	{
		name: "Users may delete the folder's files",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{aceAdmins, {SID: SIDUsers, Mask: maskReadExec | fileDeleteChild}}},
		want: []ACLWriter{{SID: SIDUsers, Mask: fileDeleteChild}},
	},
	{
		name: "Users may append",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{aceAdmins, {SID: SIDUsers, Mask: fileAppendData}}},
		want: []ACLWriter{{SID: SIDUsers, Mask: fileAppendData}},
	},
	{
		// A deny for Users does not cover a user's other groups, and which
		// of them a deny covers is not known here: refused all the same.
		name: "a deny before an allow does not make it safe",
		acl: ACL{Owner: SIDAdministrators, Entries: []ACE{
			{SID: SIDUsers, Deny: true, Mask: maskFull}, aceAdmins, {SID: SIDUsers, Mask: maskModify},
		}},
		want: []ACLWriter{{SID: SIDUsers, Mask: maskModify & WriteRights}},
	},
	{
		name: "a deny alone grants nothing",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{aceAdmins, aceUsers, {SID: SIDEveryone, Deny: true, Mask: maskFull}}},
	},
	{
		// It applies to the folder's future children, which are checked
		// on their own.
		name: "inherit-only entries are the children's",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{aceAdmins, aceUsers, {SID: SIDUsers, Mask: maskFull, InheritOnly: true}}},
	},
	{
		name: "an entry whose SID could not be read",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{aceAdmins, {SID: "", Mask: maskModify}}},
		want: []ACLWriter{{SID: "", Mask: maskModify & WriteRights}},
	},
	{
		name: "an owner that could not be read",
		acl:  ACL{Owner: "", Entries: []ACE{aceAdmins}},
		want: []ACLWriter{{SID: "", Owner: true}},
	},
	{
		// Attributes and extended attributes are not the content, but the
		// generic write right includes them: refused on the safe side.
		name: "Users may write attributes",
		acl:  ACL{Owner: SIDAdministrators, Entries: []ACE{aceAdmins, {SID: SIDUsers, Mask: maskReadExec | fileWriteAttributes}}},
		want: []ACLWriter{{SID: SIDUsers, Mask: fileWriteAttributes}},
	},
	{
		// Tests trust their own user (Paths.TrustCurrentUser): a temporary
		// folder in the user's profile.
		name: "the test user's temporary folder, trusted",
		acl:  ACL{Owner: sidTestRunner, Entries: []ACE{aceSystem, aceAdmins, {SID: sidTestRunner, Mask: maskFull}}},
		self: sidTestRunner,
	},
	{
		name: "the test user's temporary folder, not trusted",
		acl:  ACL{Owner: sidTestRunner, Entries: []ACE{aceSystem, aceAdmins, {SID: sidTestRunner, Mask: maskFull}}},
		want: []ACLWriter{{SID: sidTestRunner, Owner: true}, {SID: sidTestRunner, Mask: maskFull & WriteRights}},
	},
	{
		name: "trusting the test user trusts nobody else",
		acl:  ACL{Owner: sidTestRunner, Entries: []ACE{aceAdmins, {SID: sidAliceUser, Mask: maskModify}}},
		self: sidTestRunner,
		want: []ACLWriter{{SID: sidAliceUser, Mask: maskModify & WriteRights}},
	},
}

func TestACLWriters(t *testing.T) {
	for _, tc := range aclCases {
		t.Run(tc.name, func(t *testing.T) {
			got := ACLWriters(tc.acl, tc.self)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ACLWriters = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDescribeWriters(t *testing.T) {
	names := map[string]string{SIDUsers: `BUILTIN\Users`, sidAliceUser: `HOST\alice`}
	got := describeWriters([]ACLWriter{
		{SID: sidAliceUser, Owner: true}, {SID: SIDUsers, Mask: maskUsersAdd}, {SID: "", Mask: fileWriteData},
	}, func(sid string) string { return names[sid] })
	want := `owned by HOST\alice, BUILTIN\Users may change it (access mask 0x116), an unreadable account may change it (access mask 0x2)`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The refusal says which file, why, and how to fix it, with a kind the CLI
// turns into exit code 7 (refused).
func TestUnsafeMachineFileError(t *testing.T) {
	err := unsafeMachineFile("/etc/iscdesk/config.json", "its folder is writable by everyone", "chmod o-w it")
	if !errs.Is(err, errs.Permission) {
		t.Errorf("kind %v, want permission", errs.KindOf(err))
	}
	for _, part := range []string{"/etc/iscdesk/config.json", "writable by everyone", "chmod o-w it", "only administrators"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("%q lacks %q", err, part)
		}
	}
}
