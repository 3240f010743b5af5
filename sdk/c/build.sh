#!/usr/bin/env bash
# Builds the C library of the iscdesk SDK into OUT (default build/sdk-c):
#   OUT/linux-amd64/libiscdesk.so          (gcc)
#   OUT/windows-amd64/iscdesk.dll           (MinGW: x86_64-w64-mingw32-gcc)
#   OUT/windows-amd64/iscdesk.lib           the import library (MSVC and MinGW)
# from package sdk/c/libiscdesk with -buildmode=c-shared, stripped. `make
# sdk-c` and the tests of sdk/c/e2e run it; Go's build cache makes a second
# run cheap. Environment: GO (default go), SDK_C_WINDOWS=0 skips Windows.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$repo/build/sdk-c}
go=${GO:-go}
mkdir -p "$out/linux-amd64"
cd "$repo"
# -funcalign=16: functions start on 16 bytes, as gcc aligns them, instead of
# Go's 32 on amd64: 33 KB less of padding (sdk/c/README.md, Size and speed).
flags=(-trimpath -ldflags "-s -w -funcalign=16" -buildmode=c-shared)
CGO_ENABLED=1 GOOS=linux GOARCH=amd64 "$go" build "${flags[@]}" -o "$out/linux-amd64/libiscdesk.so" ./sdk/c/libiscdesk
# cgo writes a header of its own beside the library; iscdesk.h is the one.
rm -f "$out/linux-amd64/libiscdesk.h"
if [ "${SDK_C_WINDOWS:-1}" != 0 ]; then
	mkdir -p "$out/windows-amd64"
	# libgcc linked in (the bridge's thread-local variables use its TLS
	# emulation): the DLL then needs nothing but Windows' own KERNEL32 and
	# msvcrt.
	CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
		"$go" build -trimpath -ldflags "-s -w -funcalign=16 -extldflags=-static-libgcc" -buildmode=c-shared \
		-o "$out/windows-amd64/iscdesk.dll" ./sdk/c/libiscdesk
	rm -f "$out/windows-amd64/iscdesk.h"
	x86_64-w64-mingw32-dlltool -d sdk/c/iscdesk.def -D iscdesk.dll -l "$out/windows-amd64/iscdesk.lib"
fi
