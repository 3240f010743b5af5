// Package childenv builds the environment of the programs iscdesk starts on
// the user's behalf (a vendor's install scripts, the solver): the user's
// environment less iscdesk's secrets, so a marketplace secret key given to
// iscdesk through the environment never reaches another program. It imports
// only the standard library.
package childenv

import (
	"os"
	"slices"
	"strings"
)

// The environment variables that carry secrets to iscdesk.
const (
	AK = "ISCDESK_AK" // the marketplace access key
	SK = "ISCDESK_SK" // the marketplace secret key
)

var secrets = []string{AK, SK}

// For returns os.Environ() without iscdesk's secrets, followed by extra
// ("NAME=value" entries).
func For(extra ...string) []string {
	return append(Without(os.Environ()), extra...)
}

// Without returns env (as os.Environ gives it) without iscdesk's secrets.
func Without(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.ContainsFunc(secrets, func(s string) bool { return strings.EqualFold(s, name) })
	})
}
