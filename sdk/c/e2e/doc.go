// Package e2e holds no code: its tests build the C library of the SDK
// (sdk/c/build.sh, or the build `make sdk-c-lib` made, named by
// ISCDESK_SDK_C_BUILD), compile the C test program, the examples and the
// kit against it with strict warnings, and run them, the Python module and
// valgrind against a real desktop client (`iscdesk agent`, activated with a
// real vendor license server); they also check the header, the exports,
// the MinGW cross-build, the size and the speed. Linux/amd64 only.
package e2e
