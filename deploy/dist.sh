#!/usr/bin/env bash
# make dist: the release archives of iscdesk (docs/installer.md, docs/cli.md).
#
#   dist/iscdesk-<version>-linux-amd64.tar.gz         iscdesk-<version>/ with the two binaries
#                                                    (iscdesk, iscdesk-desktop), install.sh,
#                                                    uninstall.sh, icon, desktop entry
#   dist/iscdesk-<version>-windows-amd64-setup.exe   NSIS installer (makensis)
#   dist/iscdesk-<version>-windows-amd64.msi         MSI package (wixl, msitools)
#   dist/SHA256SUMS
#
# The version comes from internal/version/version.go, the one place it is
# set. Environment: GO (default go), DIST_DIR (default: dist in the
# repository; a relative path is taken from the current folder), and
# SOURCE_DATE_EPOCH (default: the last commit's time) for the times stored
# in the archive, so that two builds of one commit give the same tar.gz.
#
# Two binaries per OS, built with the Makefile's flags (build-cli,
# build-desktop) so that the Go build cache is shared with `make build`:
#   iscdesk          every command; pure Go (CGO_ENABLED=0), static on Linux,
#                    a console program on Windows
#   iscdesk-desktop  the window; fyne through cgo (MinGW for Windows, where
#                    it is a GUI-subsystem program: no console window opens)
# A desktop binary built without cgo has no window, so a failed cgo build
# fails the dist instead of shipping one.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd -P)
# Absolute from here on: the Windows steps run in other folders (wixl from
# the exe's), where a relative path would point elsewhere.
dist_dir=${DIST_DIR:-$repo/dist}
mkdir -p "$dist_dir"
dist_dir=$(cd "$dist_dir" && pwd -P)
cd "$repo"
GO=${GO:-go}

version=$(sed -n 's/^const Version = "\([^"]*\)"$/\1/p' internal/version/version.go)
if [ -z "$version" ]; then
	echo "dist: cannot read the version from internal/version/version.go" >&2
	exit 1
fi
# Windows version fields (MSI ProductVersion, VIProductVersion) take numbers
# only: 1.2.3-rc1 becomes 1.2.3 there.
winver=${version%%[-+]*}

for tool in makensis wixl; do
	if ! command -v "$tool" >/dev/null; then
		echo "dist: $tool is missing (Debian: apt-get install nsis wixl, or make deps)" >&2
		exit 1
	fi
done

# The window of the Windows release needs cgo: MinGW cross-compiles it.
mingw=x86_64-w64-mingw32-gcc
if ! command -v "$mingw" >/dev/null; then
	echo "dist: $mingw is missing (Debian: apt-get install gcc-mingw-w64-x86-64, or make deps): iscdesk-desktop.exe (the window) needs cgo" >&2
	exit 1
fi

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH

# Built beside dist/ so that publishing is a rename.
work=$(mktemp -d "$dist_dir/.dist.XXXXXX")
trap 'rm -rf "$work"' EXIT
base=iscdesk-$version

# ---- Linux -------------------------------------------------------------------
# The Makefile's RELEASE_FLAGS and DESKTOP_FLAGS.
release_flags=(-trimpath -ldflags "-s -w")
desktop_flags=(-trimpath -tags no_emoji)
echo "dist: building $base linux/amd64"
stage=$work/$base
mkdir "$stage"
GOOS=linux GOARCH=amd64 CGO_ENABLED=0 "$GO" build "${release_flags[@]}" -o "$stage/iscdesk" ./cmd/iscdesk
if ! GOOS=linux GOARCH=amd64 CGO_ENABLED=1 "$GO" build "${desktop_flags[@]}" -ldflags "-s -w" \
	-o "$stage/iscdesk-desktop" ./cmd/iscdesk-desktop; then
	echo "dist: the cgo build of iscdesk-desktop (the window) failed: it needs gcc and the OpenGL and X11 headers (Debian: make deps)" >&2
	exit 1
fi
cp deploy/linux/install.sh deploy/linux/uninstall.sh "$stage/"
cp deploy/linux/iscdesk.desktop deploy/linux/README.txt "$stage/"
cp assets/icon.png "$stage/iscdesk.png"
echo "$version" >"$stage/VERSION"
chmod 755 "$stage/iscdesk" "$stage/iscdesk-desktop" "$stage/install.sh" "$stage/uninstall.sh"
chmod 644 "$stage/iscdesk.desktop" "$stage/README.txt" "$stage/iscdesk.png" "$stage/VERSION"
tarball=$base-linux-amd64.tar.gz
# Fixed order, owner and times, and no time in the gzip header.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
	-C "$work" -cf - "$base" | gzip -n -9 >"$work/$tarball"

# ---- Windows -------------------------------------------------------------------
echo "dist: building $base windows/amd64"
win=$work/windows
mkdir "$win"
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$GO" build "${release_flags[@]}" -o "$win/iscdesk.exe" ./cmd/iscdesk
# The window needs cgo on Windows too, hence the MinGW cross-compiler;
# -H windowsgui: started from a shortcut it opens no console window (what it
# writes to stderr then goes nowhere; started by iscdesk.exe in a console,
# it inherits that console's handles).
if ! GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=$mingw CXX=x86_64-w64-mingw32-g++ \
	"$GO" build "${desktop_flags[@]}" -ldflags "-s -w -H windowsgui" -o "$win/iscdesk-desktop.exe" ./cmd/iscdesk-desktop; then
	echo "dist: the cgo build of iscdesk-desktop.exe (the window) with $mingw failed; a build without cgo would have no window, so there is no release" >&2
	exit 1
fi

setup=$base-windows-amd64-setup.exe
makensis -V2 -NOCD "-DVERSION=$version" "-DWINVERSION=$winver" "-DEXE=$win/iscdesk.exe" \
	"-DDESKTOPEXE=$win/iscdesk-desktop.exe" "-DOUTFILE=$work/$setup" \
	deploy/windows/iscdesk.nsi

msi=$base-windows-amd64.msi
# wixl looks files up relative to the current folder.
(cd "$win" && wixl -a x64 -D "Version=$winver" -D Exe=iscdesk.exe -D DesktopExe=iscdesk-desktop.exe -o "$work/$msi" "$repo/deploy/windows/iscdesk.wxs")

# ---- publish ---------------------------------------------------------------------
# Renamed into dist/ only when all were built: no mix of old and new.
(cd "$work" && sha256sum "$tarball" "$setup" "$msi" >SHA256SUMS)
for f in "$tarball" "$setup" "$msi" SHA256SUMS; do
	mv -f "$work/$f" "$dist_dir/$f"
done
echo "dist: wrote"
(cd "$dist_dir" && ls -l "$tarball" "$setup" "$msi" SHA256SUMS)
