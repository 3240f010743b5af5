#!/usr/bin/env bash
# Assembles the vendors' kit of the C, C++ and Python SDK from a build of
# sdk/c/build.sh (BUILD, default build/sdk-c) into OUT (default dist/sdk):
#   README.md                      how to link and ship it (sdk/c/README.md)
#   include/iscdesk.h, iscdesk.hpp
#   python/iscdesk.py
#   examples/                      example.c, example.cpp, example.py, CMakeLists.txt
#   linux-amd64/libiscdesk.so      and bin/ with the examples built against it
#   windows-amd64/iscdesk.dll, iscdesk.lib, iscdesk.def, and bin/ (MinGW)
# `make sdk-c` runs it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$repo/build/sdk-c}
out=${2:-$repo/dist/sdk}
src=$repo/sdk/c
rm -rf "$out"
mkdir -p "$out/include" "$out/python" "$out/examples" "$out/linux-amd64/bin" "$out/windows-amd64/bin"
cp "$src/README.md" "$out/"
cp "$src/include/iscdesk.h" "$src/include/iscdesk.hpp" "$out/include/"
cp "$src/python/iscdesk.py" "$out/python/"
cp "$src/examples/example.c" "$src/examples/example.cpp" "$src/examples/example.py" "$src/examples/CMakeLists.txt" "$out/examples/"
cp "$build/linux-amd64/libiscdesk.so" "$out/linux-amd64/"
cp "$build/windows-amd64/iscdesk.dll" "$build/windows-amd64/iscdesk.lib" "$src/iscdesk.def" "$out/windows-amd64/"

strict=(-Wall -Wextra -Werror -I "$out/include")
# shellcheck disable=SC2016 # $ORIGIN is the dynamic loader's, not the shell's
rpath='-Wl,-rpath,$ORIGIN/..'
# Linux: found next to the program ($ORIGIN/..), as a vendor ships it.
gcc -std=c99 "${strict[@]}" "$src/examples/example.c" -L "$out/linux-amd64" -liscdesk \
	"$rpath" -o "$out/linux-amd64/bin/example"
g++ -std=c++17 "${strict[@]}" "$src/examples/example.cpp" -L "$out/linux-amd64" -liscdesk \
	"$rpath" -o "$out/linux-amd64/bin/example_cpp"
# Windows: iscdesk.dll goes beside the program.
x86_64-w64-mingw32-gcc -std=c99 "${strict[@]}" "$src/examples/example.c" "$out/windows-amd64/iscdesk.lib" \
	-o "$out/windows-amd64/bin/example.exe"
x86_64-w64-mingw32-g++ -std=c++17 "${strict[@]}" -static-libstdc++ -static-libgcc "$src/examples/example.cpp" \
	"$out/windows-amd64/iscdesk.lib" -o "$out/windows-amd64/bin/example_cpp.exe"
(cd "$out" && ls -l linux-amd64 windows-amd64)
