package agent

import (
	"context"

	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/agent/solver"
	"github.com/iscdesk/iscdesk/agent/updates"
)

// Storage is where Save puts files and where OpenCloudFile finds them.
type Storage interface {
	// Save copies what is on disk at req.Path (a file, or with Assembly the
	// folder holding the main file and its dependencies) into the cloud
	// drive as one unit, verifying what was written. progress, when not
	// nil, is called as bytes are copied (done of total).
	Save(ctx context.Context, req clouddrive.SaveRequest, progress func(done, total int64)) (clouddrive.SaveResult, error)
	// List returns the cloud drive's files and assemblies, newest first.
	List(ctx context.Context) ([]clouddrive.File, error)
	// Open resolves the cloud entry called name to a local path to open.
	Open(ctx context.Context, name string) (clouddrive.File, error)
	// SaveAsTarget says where a Save of a file named req.FileName would
	// store it (SelectSaveAsPath), refusing a name that is not a plain
	// portable one or that an entry of the other kind holds.
	SaveAsTarget(req clouddrive.SaveAsRequest) (clouddrive.File, error)
}

var _ Storage = (*clouddrive.LocalFolder)(nil)

// Solver solves models for GetSolution.
type Solver interface {
	// Solve runs on req.Input until done, failed, timed out or ctx ends.
	Solve(ctx context.Context, req solver.Request) (solver.Result, error)
}

var _ Solver = (*solver.Command)(nil)

// UpdateChecker answers CheckNewVersions and prepares upgrades.
type UpdateChecker interface {
	// Check compares the program's version with the newest one.
	Check(ctx context.Context, app, version string) (updates.Update, error)
	// Prepare downloads and verifies the newest version so it can be
	// installed once the program exits.
	Prepare(ctx context.Context, app, version string) (updates.Update, error)
}

var _ UpdateChecker = (*updates.ManifestChecker)(nil)

// KeepSuggestion is the SaveAs hook without a window: nobody to ask, so the
// program's suggestion is the choice.
func KeepSuggestion(_ context.Context, req clouddrive.SaveAsRequest) (string, error) {
	return req.FileName, nil
}
