package layers_test

import (
	"errors"
	"go/build"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/iscdesk/iscdesk/"

// A rule says what the packages at pkgs (a path in the module, or a tree
// ending in "/...") may depend on, directly or not: with only set, nothing
// outside the standard library but those packages (and pkgs itself); with
// never set, anything but those. Paths are the module's, exact unless they
// end in "/..."; a path in never may also be another module's import path
// (its first element has a dot).
type rule struct {
	pkgs  string
	only  []string
	never []string
	why   string
}

var rules = []rule{
	{pkgs: "token", only: []string{}, why: "compiled into vendors' products through sdk"},
	{pkgs: "protocol", only: []string{}, why: "compiled into vendors' products through sdk"},
	{pkgs: "fingerprint/osid", only: []string{}, why: "compiled into vendors' products through sdk"},
	{pkgs: "licensing/marketplace/wire", only: []string{"fingerprint/devinfo", "token"},
		why: "shapes on the wire only, shared by the client and the sandbox"},
	{pkgs: "licensing/marketplace/callback", only: []string{},
		why: "the callbacks' shapes and signature, shared by the vendor server and the sandbox"},
	{pkgs: "licensing/...", never: []string{"sdk/...", "protocol", "fingerprint", "agent/...", "ui/..."},
		why: "licensing is the domain: the fingerprint as a value (devinfo) but not the probes, and nothing of the layers above it"},
	{pkgs: "licensing/sandbox", never: []string{"licensing/marketplace"},
		why: "the marketplace client is tested against the sandbox, which must not borrow its logic"},
	{pkgs: "licensing/marketplace", never: []string{"licensing/sandbox"},
		why: "the client uses the sandbox in its tests only"},
	{pkgs: "token/activation", only: []string{"token", "fingerprint/devinfo"},
		why: "the desktop verifies activation tokens without the server's HTTP or SQL"},
	{pkgs: "licensing", never: []string{"licensing/marketplace", "licensing/aksk", "licensing/sandbox"},
		why: "the desktop's license service holds no marketplace credentials and never calls the marketplace: the vendor license server does"},
	{pkgs: "licensing/store", never: []string{"licensing/marketplace", "licensing/aksk", "licensing/sandbox"},
		why: "the desktop's keyring holds the activation token and the device key, never marketplace credentials"},
	{pkgs: "licensing/remote", never: []string{"licensing/marketplace", "licensing/aksk", "licensing/sandbox", "server"},
		why: "the desktop reaches the license server through its client, without the server or the marketplace"},
	{pkgs: "server", never: []string{"server/...", "licensing/marketplace", "licensing/sandbox", "licensing/store", "licensing/secret", "sdk/...", "agent/...", "ui/...", "fingerprint"},
		why: "the server's domain knows nothing of HTTP, SQL or the marketplace client; its adapters depend on it, never the reverse"},
	{pkgs: "server/wire", only: []string{},
		why: "the API's shapes, shared by the server and the desktop's client"},
	{pkgs: "token/offline", only: []string{"token"},
		why: "the air-gapped request and answer files, shared by the server and the desktop's license service"},
	{pkgs: "server/client", only: []string{"server/wire", "internal/errs"},
		why: "the desktop calls the server through it without pulling the server in"},
	{pkgs: "server/...", never: []string{"licensing/store", "licensing/secret", "sdk/...", "agent/...", "ui/...", "fingerprint"},
		why: "the vendor server holds no desktop keyring and no GUI"},
	{pkgs: "sdk/fingerprint", never: []string{"fyne.io/...", "github.com/zalando/go-keyring", "licensing/...", "agent/...", "ui/...", "server/...", "internal/wiring", "sdk/c/..."},
		why: "what a Go program links for devInfo: the probes (package fingerprint), nothing of the desktop"},
	{pkgs: "sdk/c/...", never: []string{"fyne.io/...", "github.com/zalando/go-keyring", "licensing/...", "agent/...", "ui/...", "server/...", "internal/wiring"},
		why: "the C library is sdk for C: compiled into vendors' products, without the GUI, the keyring or the desktop's internals"},
	{pkgs: "cmd/...", never: []string{"github.com/huaweicloud/..."},
		why: "Huawei's Go SDK is a test-only dependency, the cross-check of licensing/aksk and the sandbox; shipped code signs with licensing/aksk"},
}

// matches reports whether the module package p is pattern: a path, or a
// tree ending in "/...".
func matches(pattern, p string) bool {
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		return p == tree || strings.HasPrefix(p, tree+"/")
	}
	return p == pattern
}

// standard reports whether an import path is of the standard library: its
// first element has no dot.
func standard(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

// check returns what is wrong with package p depending on dep under r.
func (r rule) check(p, dep string) string {
	if standard(dep) {
		return ""
	}
	in, inModule := strings.CutPrefix(dep, module)
	name := dep
	if inModule {
		name = in
	}
	if r.only != nil {
		if inModule && (matches(r.pkgs, in) || slices.ContainsFunc(r.only, func(o string) bool { return matches(o, in) })) {
			return ""
		}
		allowed := "only the standard library"
		if len(r.only) > 0 {
			allowed += " and " + strings.Join(r.only, ", ")
		}
		return p + " depends on " + name + "; it may import " + allowed + " (" + r.why + ")"
	}
	if slices.ContainsFunc(r.never, func(n string) bool { return matches(n, name) }) {
		return p + " depends on " + name + "; it must not (" + r.why + ")"
	}
	return ""
}

// graph reads the imports of the module's packages from their source files
// for one OS, as the build would. (It reads the files rather than run go
// list, so that the test cache sees them: a change to an import reruns the
// test.)
type graph struct {
	ctx  build.Context
	root string              // the module's folder
	memo map[string][]string // module package → its imports outside the standard library
}

// direct returns the imports of module package p that are not of the
// standard library.
func (g *graph) direct(p string) ([]string, error) {
	if deps, ok := g.memo[p]; ok {
		return deps, nil
	}
	pkg, err := g.ctx.ImportDir(filepath.Join(g.root, filepath.FromSlash(p)), 0)
	var noGo *build.NoGoError
	if err != nil && !errors.As(err, &noGo) {
		return nil, err
	}
	var deps []string
	if pkg != nil {
		for _, imp := range pkg.Imports {
			if !standard(imp) {
				deps = append(deps, imp)
			}
		}
	}
	g.memo[p] = deps
	return deps, nil
}

// deps returns what module package p depends on outside the standard
// library, directly or not.
func (g *graph) deps(p string) ([]string, error) {
	seen := map[string]bool{}
	var walk func(string) error
	walk = func(p string) error {
		direct, err := g.direct(p)
		if err != nil {
			return err
		}
		for _, dep := range direct {
			if seen[dep] {
				continue
			}
			seen[dep] = true
			if in, ok := strings.CutPrefix(dep, module); ok {
				if err := walk(in); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := walk(p)
	return slices.Sorted(maps.Keys(seen)), err
}

// packages returns the module packages that pattern names and that have Go
// files for the graph's OS.
func (g *graph) packages(pattern string) ([]string, error) {
	tree, isTree := strings.CutSuffix(pattern, "/...")
	if !isTree {
		return []string{pattern}, nil
	}
	var pkgs []string
	err := filepath.WalkDir(filepath.Join(g.root, filepath.FromSlash(tree)), func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(g.root, dir)
		if err != nil {
			return err
		}
		_, err = g.ctx.ImportDir(dir, 0)
		var noGo *build.NoGoError
		switch {
		case errors.As(err, &noGo):
			return nil
		case err != nil:
			return err
		}
		pkgs = append(pkgs, filepath.ToSlash(rel))
		return nil
	})
	return pkgs, err
}

func TestImportRules(t *testing.T) {
	const root = "../.."
	if mod, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !strings.Contains(string(mod), "module "+strings.TrimSuffix(module, "/")+"\n") {
		t.Fatalf("%s is not the module's folder: %v", root, err)
	}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		t.Run(goos, func(t *testing.T) {
			ctx := build.Default
			ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = goos, "amd64", false
			g := &graph{ctx: ctx, root: root, memo: map[string][]string{}}
			for _, r := range rules {
				pkgs, err := g.packages(r.pkgs)
				if err != nil {
					t.Fatal(err)
				}
				if len(pkgs) == 0 {
					t.Errorf("no package matches the rule for %s: was it moved?", r.pkgs)
				}
				for _, p := range pkgs {
					deps, err := g.deps(p)
					if err != nil {
						t.Fatal(err)
					}
					for _, dep := range deps {
						if msg := r.check(p, dep); msg != "" {
							t.Error(msg)
						}
					}
				}
			}
		})
	}
}
