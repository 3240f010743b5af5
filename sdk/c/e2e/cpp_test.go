package e2e_test

import "testing"

// TestCppSaveAs runs cppsaveas, built with g++ -std=c++17 -Wall -Wextra
// -Werror against the library, against a real agent: the C++ wrapper's
// SelectSaveAsPath (its event through the callback) and
// SelectSaveAsPathWait, and a hostile suggestion refused.
func TestCppSaveAs(t *testing.T) {
	_, operates := runTestProgram(t, "g++", "c++17", "sdk/c/test/cppsaveas.cpp", func(*chain) []string { return nil })
	if operates["SaveAsPath"] != 2 {
		t.Fatalf("SaveAsPath events: %d, want 2", operates["SaveAsPath"])
	}
}
