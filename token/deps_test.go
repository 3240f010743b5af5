package token_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestImportsOnlyStandardLibrary: token is compiled into vendors' products
// through package sdk, and shared by the issuers and the marketplace client.
// (The standard library imports nothing else, so direct imports suffice.)
func TestImportsOnlyStandardLibrary(t *testing.T) {
	for _, goos := range []string{"linux", "windows", "darwin"} {
		ctx := build.Default
		ctx.GOOS = goos
		pkg, err := ctx.ImportDir(".", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkg.Imports {
			if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
				t.Errorf("%s: token imports %s; it may import only the standard library", goos, p)
			}
		}
	}
}
