// Package agent is the desktop side of the SDK: it serves the local socket
// that vendors' programs connect to through package sdk, answers their calls
// at once and reports outcomes as events, and does the work through small
// hooks, each with a working default: storage (Save, OpenCloudFile: a local
// folder acting as the user's cloud drive), solver (GetSolution: an
// administrator-configured command), license source (device licenses for the
// activated license code) and version check (an update manifest).
//
// It runs inside the desktop app and in `iscdesk agent`. It must not import
// the GUI toolkit.
package agent

import (
	"context"
	"time"
)

// Storage is where Save puts files and where OpenCloudFile finds them.
type Storage interface {
	// Save copies what is on disk at req.Path (a file, or with Assembly the
	// folder holding the main file and its dependencies) into the cloud
	// drive as one unit, verifying what was written. progress, when not
	// nil, is called as bytes are copied (done of total).
	Save(ctx context.Context, req SaveRequest, progress func(done, total int64)) (SaveResult, error)
	// List returns the cloud drive's files and assemblies, newest first.
	List(ctx context.Context) ([]CloudFile, error)
	// Open resolves the cloud entry called name to a local path to open.
	Open(ctx context.Context, name string) (CloudFile, error)
}

// SaveRequest is one Save call.
type SaveRequest struct {
	Path     string // the main file, as the program wrote it to disk
	Assembly bool   // save the folder named like the main file, which holds it and every dependency
}

// SaveResult says what a Save stored.
type SaveResult struct {
	Name     string // the entry's name in the cloud drive
	Stored   string // where it now is (local path of the cloud drive entry)
	Bytes    int64  // bytes copied
	SHA256   string // hex SHA-256 of the file (of the main file for an assembly)
	Previous string // where the previous version was kept, "" when there was none
}

// CloudFile is an entry of the cloud drive.
type CloudFile struct {
	Name     string    // file name, or folder name for an assembly
	Path     string    // local path of the main file to open
	Assembly bool      //
	Size     int64     // bytes (all files for an assembly)
	Modified time.Time //
}

// Solver solves models for GetSolution.
type Solver interface {
	// Solve runs on req.Input until done, failed, timed out or ctx ends.
	Solve(ctx context.Context, req SolveRequest) (SolveResult, error)
}

// SolveRequest is one GetSolution call.
type SolveRequest struct {
	Input string // path of the model file
}

// SolveResult is what a solve produced.
type SolveResult struct {
	ResultDir string        // folder holding the results and the captured output
	ExitCode  int           // the solver's exit code
	Log       string        // path of the captured standard output and error
	Duration  time.Duration //
}
