//go:build race

package server_test

// raceEnabled: the race detector slows SQLite (transpiled C) about 30 times;
// the heaviest tests run smaller.
const raceEnabled = true
