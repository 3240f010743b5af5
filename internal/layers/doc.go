// Package layers holds no code: its test checks the import rules between
// the packages of this module, the ones that keep each layer to its job
// (which packages are the standard library only, which must not see which),
// and keeps the test-only dependencies (Huawei's Go SDK) out of the binaries.
// A rule broken by a change fails `go test ./internal/layers` on every OS the
// module builds for. The rules of package sdk, which vendors compile into
// their products, are checked by sdk's own TestDependencies.
package layers
