// Command libiscdesk is the C library of the iscdesk SDK: built with
// -buildmode=c-shared it is libiscdesk.so (Linux) or iscdesk.dll (Windows),
// implementing include/iscdesk.h over package sdk. It only converts between
// C and Go; what it does is package capi's. `make sdk-c` builds it.
//
// Built without cgo (the module's cross checks) it is an empty program.
package main

func main() {}
