# iscdesk: the commands a newcomer needs (see README.md).
#   make demo   run the main job against the embedded default
#   make test   install what is missing, then every check CI runs
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)
BIN       := bin/iscdesk
# Release builds: no debug info, and fyne without its 4 MB colour emoji font
# (about 15 MB less resident memory; the app shows no emoji).
RELEASE_FLAGS := -trimpath -tags no_emoji -ldflags "-s -w"
FYNE_TOOLS    := fyne.io/tools/cmd/fyne@v1.7.4

# Debian packages the build and the tests need (checked one by one, installed
# only when missing).
DEB_PACKAGES := gcc libc6-dev git ca-certificates iproute2 util-linux curl \
	dbus dbus-daemon gnome-keyring \
	nsis wixl msitools gcc-mingw-w64-x86-64 shellcheck e2fsprogs wine64 \
	libgl1-mesa-dev xorg-dev libxkbcommon-dev xvfb xauth x11-apps
# Go tools, pinned.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Fuzz targets run briefly by `make test` (package:Target).
FUZZ_TARGETS := ./fingerprint/devinfo:FuzzRender ./fingerprint:FuzzParseSMBIOS \
	./licensing/marketplace:FuzzParseResponse ./licensing/sandbox:FuzzHandler ./licensing/store:FuzzUnseal \
	./sdk:FuzzDecodeMessage ./sdk:FuzzVerifyDeviceLicense \
	./internal/download:FuzzParseContentRange
FUZZTIME ?= 10s

.PHONY: deps build test check vet lint unit fuzz cross demo bench clean dist dist-check test-gui package-linux ui-nocgo

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

build:
	$(GO) build $(RELEASE_FLAGS) -o $(BIN) ./cmd/iscdesk

test: deps check unit ui-nocgo test-gui fuzz cross dist-check
	@echo "make test: all checks passed"

check: vet lint
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi

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

unit:
	$(call with_keyring,$(GO) test -race -count=1 -timeout 5m ./...)

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done

cross:
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build ./...
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) vet ./...
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./...
	GOOS=darwin GOARCH=amd64 CGO_ENABLED=0 $(GO) vet ./...

# The screens build and pass their golden tests without cgo too.
ui-nocgo:
	CGO_ENABLED=0 $(GO) test -tags ci -count=1 ./ui/...

# The real window under Xvfb: start-up time, every screen, a program calling
# the embedded agent, screenshots in screenshots/ (see README).
test-gui: build
	ISCDESK_XVFB=1 ISCDESK_XVFB_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run '^TestDesktopWindowUnderXvfb$$' -v ./cmd/iscdesk

# A Linux package (ISCDesk.tar.xz) from FyneApp.toml with fyne's tool.
package-linux: build
	$(GO) run $(FYNE_TOOLS) package --os linux --exe $(BIN) --release

# Release archives: dist/iscdesk-<version>-linux-amd64.tar.gz, the Windows
# setup.exe (NSIS) and .msi (wixl), and SHA256SUMS.
dist: deps
	deploy/dist.sh

# The release archives built and checked (a native and a cross cgo build),
# installed and uninstalled for real, and the Windows installers run silently
# under wine; and `make dist` run as the README does (default DIST_DIR, from
# the root) in a copy of the repository.
dist-check:
	ISCDESK_DIST=1 ISCDESK_WINE=1 $(GO) test -count=1 -timeout 25m -run '^(TestDist|TestMakeDist|TestWineNSIS|TestWineMSI)$$' ./deploy/deploytest/

demo: deps build
	@scripts/demo.sh $(BIN)

bench: deps
	$(call with_keyring,$(GO) test -run "^$$" -bench . -benchmem ./...)

clean:
	rm -rf bin dist
