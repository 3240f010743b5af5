# iscdesk: the commands a newcomer needs (see README.md).
#   make demo   run the main job against the embedded default
#   make check  the fast edit-test loop: static checks and short unit tests
#   make test   install what is missing, then every check CI runs
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
# The Go release every build and test uses: the toolchain line of go.mod
# (the latest patch release, for its security fixes), fetched through the
# module proxy when the installed Go is older. A machine-wide
# GOTOOLCHAIN=local would otherwise ignore that line.
export GOTOOLCHAIN := $(shell sed -n 's/^toolchain //p' go.mod)
GOBIN     := $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)
# Two binaries: iscdesk, every command, pure Go and static (it starts on
# machines without X or GL libraries), and iscdesk-desktop, the window, which
# links fyne through cgo; `iscdesk` without arguments starts it.
BIN       := bin/iscdesk
DESKTOP   := bin/iscdesk-desktop
# The vendor's license server: pure Go, static, for linux and windows.
SERVER    := bin/iscdesk-server
SERVER_PLATFORMS := linux/amd64 linux/arm64 windows/amd64 windows/arm64
# Release builds: no debug info; the window also without fyne's 4 MB colour
# emoji font (about 15 MB less resident memory; the app shows no emoji).
RELEASE_FLAGS := -trimpath -ldflags "-s -w"
DESKTOP_FLAGS := $(RELEASE_FLAGS) -tags no_emoji
FYNE_TOOLS    := fyne.io/tools/cmd/fyne@v1.7.4
# The C library's build (once per run; the tests use it) and the vendors'
# kit: see sdk-c below.
SDK_C_BUILD := $(CURDIR)/build/sdk-c
SDK_C_DIST  ?= dist/sdk

# Debian packages the build and the tests need (checked one by one, installed
# only when missing).
DEB_PACKAGES := gcc libc6-dev git ca-certificates iproute2 util-linux curl \
	dbus dbus-daemon gnome-keyring \
	nsis wixl msitools gcc-mingw-w64-x86-64 shellcheck e2fsprogs wine64 \
	libgl1-mesa-dev xorg-dev libxkbcommon-dev xvfb xauth x11-apps \
	postgresql \
	valgrind g++ python3 g++-mingw-w64-x86-64 cmake
# Go tools, pinned.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Every fuzz target in the tree (func FuzzXxx in a _test.go file) runs
# briefly in `make test`: found, not listed, so none is forgotten.
FUZZ_TARGETS = $(shell grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | \
	sed -E 's|^\./(.*)/[^/]*:func (Fuzz.*)$$|./\1:\2|' | sort -u)
FUZZTIME ?= 10s

.PHONY: deps build build-cli build-desktop build-server test check static short vet lint tidy vuln unit fuzz cross demo bench clean dist dist-check test-gui package-linux ui-nocgo sdk-c sdk-c-lib

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: Debian packages present"; fi
	@command -v staticcheck >/dev/null || { echo "deps: installing staticcheck"; $(GO) install $(STATICCHECK); }
	@$(GO) mod download

build: build-cli build-desktop build-server

build-cli:
	CGO_ENABLED=0 $(GO) build $(RELEASE_FLAGS) -o $(BIN) ./cmd/iscdesk

build-server:
	CGO_ENABLED=0 $(GO) build $(RELEASE_FLAGS) -o $(SERVER) ./cmd/iscdesk-server

build-desktop:
	$(GO) build $(DESKTOP_FLAGS) -o $(DESKTOP) ./cmd/iscdesk-desktop

test: deps static unit vuln ui-nocgo test-gui fuzz cross dist-check
	@echo "make test: all checks passed"

# The edit-test loop (about a minute with a warm build cache): the static
# checks, then the unit tests in -short mode, without -race, of every package
# but the window's (ui, cmd/iscdesk-desktop) and the installers' run under
# wine. `make test` runs all of them, and more.
check: static cross short
	@echo "make check: passed"

# Packages whose tests need neither a window nor wine.
SHORT_PKGS = $(shell $(GO) list ./... | grep -v -e '/cmd/iscdesk-desktop$$' -e '/ui$$' -e '/ui/' -e '/deploytest$$')

short:
	$(GO) test -short $(SHORT_PKGS)

# vet, staticcheck and gofmt over the whole tree.
static: vet lint tidy
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi

# Known vulnerabilities in the code's call graph (govulncheck). vuln.go.dev is
# out of reach here; the same OSV records ship in the golang.org/x/vulndb
# module (data/osv/*.json), which the module proxy serves, and
# scripts/mkvulndb turns them into the layout `govulncheck -db file://`
# reads. Both are built once into build/ (a pin change rebuilds them).
# Bump with: go list -m -f '{{.Version}}' golang.org/x/vulndb@latest
GOVULNCHECK_VERSION := v1.9.0
VULNDB_VERSION      := v0.0.0-20261105234957-e22db6528018
VULN_DIR    := $(CURDIR)/build/vuln
GOVULNCHECK := $(VULN_DIR)/govulncheck-$(GOVULNCHECK_VERSION)/govulncheck
VULNDB      := $(VULN_DIR)/db-$(VULNDB_VERSION)

$(GOVULNCHECK):
	GOBIN=$(dir $@) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

$(VULNDB)/index/modules.json: scripts/mkvulndb/main.go
	@set -- $$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) >/dev/null && \
		$(GO) list -m -f '{{.Dir}} {{.Time.UTC.Format "2006-01-02T15:04:05Z07:00"}}' golang.org/x/vulndb@$(VULNDB_VERSION)); \
	rm -rf $(VULNDB).tmp && $(GO) run ./scripts/mkvulndb -osv "$$1/data/osv" -out $(VULNDB).tmp -modified "$$2" && \
	rm -rf $(VULNDB) && mv $(VULNDB).tmp $(VULNDB)

vuln: $(GOVULNCHECK) $(VULNDB)/index/modules.json
	$(GOVULNCHECK) -db file://$(VULNDB) ./...

# go.mod and go.sum say exactly what the code imports.
tidy:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

vet:
	$(GO) vet ./...

lint:
	staticcheck ./...

# with_keyring runs a command inside a private D-Bus session with a fresh
# gnome-keyring (its files in a temporary folder) unlocked, so the OS keyring
# is exercised for real; ISCDESK_REAL_KEYRING=1 turns a missing keyring into a
# test failure instead of a skip.
define with_keyring
	@keyrings=$$(mktemp -d); trap 'rm -rf "$$keyrings"' EXIT; \
	XDG_DATA_HOME=$$keyrings dbus-run-session -- bash -euo pipefail -c '\
		echo -n iscdesk-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null; \
		ISCDESK_REAL_KEYRING=1 $(1)' 2> >(grep -v "Failed to set fd limit" >&2)
endef

# The vendor server's storage suite runs against a PostgreSQL cluster the
# tests start themselves (Debian's postgresql, from deps); this makes a missing
# one a failure rather than a skip.
unit: export ISCDESK_REQUIRE_POSTGRES := 1
unit: export ISCDESK_SDK_C_BUILD := $(SDK_C_BUILD)
unit: sdk-c-lib
	$(call with_keyring,$(GO) test -race -count=1 -timeout 5m ./...)

# Go 1.26's fuzz coordinator can end a -fuzztime run with a bare "context
# deadline exceeded" and no failing input when a worker is busy as the time
# runs out (go.dev/issue/75804, fixed in Go 1.27). A real failure always
# writes its input to testdata/fuzz/<Target>/, so a run that fails that way
# without a new input there is reported and not counted; any other failure
# fails the target.
fuzz:
	@test -n "$(FUZZ_TARGETS)" || { echo "fuzz: no fuzz target found"; exit 1; }
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; corpus=$$pkg/testdata/fuzz/$$name; \
		before=$$({ ls "$$corpus" 2>/dev/null || true; } | wc -l); \
		if out=$$($(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg" 2>&1); then \
			echo "$$out" | tail -1; continue; \
		fi; \
		echo "$$out"; \
		after=$$({ ls "$$corpus" 2>/dev/null || true; } | wc -l); \
		if [ "$$after" = "$$before" ] && echo "$$out" | grep -qx '    context deadline exceeded'; then \
			echo "fuzz: $$name: Go's end-of-fuzztime race (go.dev/issue/75804), no failing input: not counted"; \
		else exit 1; fi; \
	done

cross:
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build ./...
	@for p in $(SERVER_PLATFORMS); do \
		echo "cross: iscdesk-server $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/iscdesk-server; \
	done
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) vet ./...
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./...
	GOOS=darwin GOARCH=amd64 CGO_ENABLED=0 $(GO) vet ./...

# The screens build and pass their golden tests without cgo too.
ui-nocgo:
	CGO_ENABLED=0 $(GO) test -tags ci -count=1 ./ui/...

# The real window under Xvfb: start-up time, every screen, a program calling
# the embedded agent, screenshots in screenshots/ (see README).
test-gui: build
	ISCDESK_XVFB=1 ISCDESK_XVFB_BIN=$(CURDIR)/$(DESKTOP) ISCDESK_XVFB_CLI=$(CURDIR)/$(BIN) \
		$(GO) test -count=1 -run '^TestDesktopWindowUnderXvfb$$' -v ./cmd/iscdesk-desktop

# A Linux package of the window (ISCDesk.tar.xz) from FyneApp.toml with
# fyne's tool.
# fyne's tool rewrites FyneApp.toml (it bumps Build and reformats it): the
# file is put back, so packaging leaves the checkout as it was.
package-linux: build-desktop
	@saved=$$(mktemp); cp FyneApp.toml "$$saved"; trap 'cp "$$saved" FyneApp.toml; rm -f "$$saved"' EXIT; \
		$(GO) run $(FYNE_TOOLS) package --os linux --exe $(DESKTOP) --release

# Release archives: dist/iscdesk-<version>-linux-amd64.tar.gz, the Windows
# setup.exe (NSIS) and .msi (wixl), and SHA256SUMS.
dist: deps sdk-c
	deploy/dist.sh

# The release archives built and checked (a native and a cross cgo build),
# installed and uninstalled for real, and the Windows installers run silently
# under wine; and `make dist` run as the README does (default DIST_DIR, from
# the root) in a copy of the repository.
dist-check:
	ISCDESK_DIST=1 ISCDESK_WINE=1 $(GO) test -count=1 -timeout 25m -run '^(TestDist|TestMakeDist|TestWineNSIS|TestWineMSI|TestWineMachineConfigSecured)$$' ./deploy/deploytest/

# The SDK for C, C++ and Python (sdk/c; sdk/c/README.md is the vendors'
# guide). sdk-c-lib builds libiscdesk.so and, with MinGW, iscdesk.dll and its
# import library into build/sdk-c, once per run: the tests of sdk/c/e2e use
# that build (ISCDESK_SDK_C_BUILD) instead of building their own. sdk-c
# assembles the vendors' kit in dist/sdk: headers, the Python module, the
# examples (built for Linux and Windows), the libraries.
sdk-c-lib:
	GO=$(GO) sdk/c/build.sh $(SDK_C_BUILD)

sdk-c: sdk-c-lib
	sdk/c/kit.sh $(SDK_C_BUILD) $(SDK_C_DIST)

demo: deps build-cli build-server
	@scripts/demo.sh $(BIN) $(SERVER)

bench: deps
	$(call with_keyring,$(GO) test -run "^$$" -bench . -benchmem ./...)

clean:
	rm -rf bin dist
