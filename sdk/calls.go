package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/iscdesk/iscdesk/protocol"
)

// CallOption adds to one call.
type CallOption func(*callOptions)

type callOptions struct {
	comeBack map[string]string
	queue    bool
	assembly bool
}

// QueueForLease makes a license request of a floating license wait for a
// lease when the pool is full, instead of failing at once: the agent sends
// a LicenseQueued event naming the holders and the earliest end, then the
// LicenseVerify when a lease frees (or fails when the program disconnects).
// Other calls ignore it.
func QueueForLease() CallOption { return func(o *callOptions) { o.queue = true } }

// SaveAsAssembly makes SelectSaveAsPath ask where to save an assembly (the
// folder named like the main file) rather than a file. Other calls ignore
// it.
func SaveAsAssembly() CallOption { return func(o *callOptions) { o.assembly = true } }

// ComeBackParams attaches the program's own key/value pairs to a call; the
// agent echoes them in the comeBackParams of every event of the call (next to
// protocol.RequestIDKey, which it sets itself), as in the published SDK.
func ComeBackParams(params map[string]string) CallOption {
	return func(o *callOptions) { o.comeBack = params }
}

func comeBack(opts []CallOption) map[string]string { return options(opts).comeBack }

func options(opts []CallOption) callOptions {
	var o callOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

func licenseParams(devInfo, fileName string, opts []CallOption) protocol.LicenseParams {
	o := options(opts)
	return protocol.LicenseParams{DevInfo: devInfo, FileName: fileName, Queue: o.queue, ComeBackParams: o.comeBack}
}

// request makes a call answered by events and returns its request id.
func (c *Client) request(ctx context.Context, method string, params any) (string, error) {
	res, _, err := c.call(ctx, method, params, "")
	if err != nil {
		return "", err
	}
	var a protocol.Accepted
	if err := json.Unmarshal(res, &a); err != nil || a.RequestID == "" {
		return "", fmt.Errorf("sdk: %s: %w: acceptance without a request id: %s", method, ErrProtocol, res)
	}
	return a.RequestID, nil
}

// await makes a call and waits for its final event. A final event that
// reports a failure gives an *OperationError (and the event).
func (c *Client) await(ctx context.Context, method string, params any, final string) (protocol.Event, error) {
	_, w, err := c.call(ctx, method, params, final)
	if err != nil {
		return protocol.Event{}, err
	}
	select {
	case r := <-w.ch:
		if r.err != nil {
			return protocol.Event{}, fmt.Errorf("sdk: %s: waiting for %s: %w", method, final, r.err)
		}
		if r.event.Failed() {
			return r.event, &OperationError{Event: r.event}
		}
		return r.event, nil
	case <-ctx.Done():
		// The operation goes on in the desktop client: this protocol version
		// has no cancel. Its events still reach the callback and channel.
		c.forgetWaiter(w)
		return protocol.Event{}, fmt.Errorf("sdk: %s: waiting for %s: %w", method, final, ctx.Err())
	}
}

// GetLicenseStringRequest asks for a device license bound to devInfo (the
// MAC|disk|board|CPU fingerprint string), delivered as a string in a
// LicenseVerify event. It returns the request id once the agent accepted.
func (c *Client) GetLicenseStringRequest(ctx context.Context, devInfo string, opts ...CallOption) (string, error) {
	return c.request(ctx, protocol.MethodGetLicenseString, licenseParams(devInfo, "", opts))
}

// GetLicenseString asks for a device license bound to devInfo and waits for
// it: the token (a compact JWS) of the LicenseVerify event. Check it with
// VerifyDeviceLicense, then tell the agent with LicenseVerifyNotify.
func (c *Client) GetLicenseString(ctx context.Context, devInfo string, opts ...CallOption) (string, error) {
	e, err := c.await(ctx, protocol.MethodGetLicenseString, licenseParams(devInfo, "", opts), protocol.EventLicenseVerify)
	if err != nil {
		return "", err
	}
	token := e.Params[protocol.LicenseContentKey]
	if token == "" {
		return "", fmt.Errorf("sdk: %s: %w: LicenseVerify without LicenseContent", protocol.MethodGetLicenseString, ErrProtocol)
	}
	return token, nil
}

// GetLicenseFileRequest asks for a device license bound to devInfo, written
// by the agent to fileName (an absolute path, or a bare name the agent places
// in its license folder); a LicenseVerify event gives the path.
func (c *Client) GetLicenseFileRequest(ctx context.Context, fileName, devInfo string, opts ...CallOption) (string, error) {
	return c.request(ctx, protocol.MethodGetLicenseFile, licenseParams(devInfo, fileName, opts))
}

// GetLicenseFile is GetLicenseFileRequest waiting for the LicenseVerify
// event: it returns the path of the license file.
func (c *Client) GetLicenseFile(ctx context.Context, fileName, devInfo string, opts ...CallOption) (string, error) {
	e, err := c.await(ctx, protocol.MethodGetLicenseFile, licenseParams(devInfo, fileName, opts), protocol.EventLicenseVerify)
	if err != nil {
		return "", err
	}
	path := e.Params[protocol.LicenseFilePathKey]
	if path == "" {
		return "", fmt.Errorf("sdk: %s: %w: LicenseVerify without LicenseFilePath", protocol.MethodGetLicenseFile, ErrProtocol)
	}
	return path, nil
}

// LicenseVerifyNotify tells the agent whether the program accepted the
// license it was given (ok), and if not, why (errMsg). No event answers it.
func (c *Client) LicenseVerifyNotify(ctx context.Context, ok bool, errMsg string) error {
	_, _, err := c.call(ctx, protocol.MethodLicenseVerifyNotify, protocol.VerifyNotifyParams{OK: ok, ErrMsg: errMsg}, "")
	return err
}

// CheckNewVersionsRequest asks whether a newer version of the program (by
// the name and version of WithApp) exists; an UpgradeNotice event answers.
func (c *Client) CheckNewVersionsRequest(ctx context.Context, opts ...CallOption) (string, error) {
	return c.request(ctx, protocol.MethodCheckNewVersions, protocol.CallParams{ComeBackParams: comeBack(opts)})
}

// VersionCheck is the answer of CheckNewVersions.
type VersionCheck struct {
	Available bool
	// Version is the newer version when the agent names it ("" otherwise).
	Version string
	// Event is the UpgradeNotice event as received.
	Event protocol.Event
}

// CheckNewVersions is CheckNewVersionsRequest waiting for the UpgradeNotice.
func (c *Client) CheckNewVersions(ctx context.Context, opts ...CallOption) (VersionCheck, error) {
	e, err := c.await(ctx, protocol.MethodCheckNewVersions, protocol.CallParams{ComeBackParams: comeBack(opts)}, protocol.EventUpgradeNotice)
	if err != nil {
		return VersionCheck{Event: e}, err
	}
	return VersionCheck{Available: e.Params[protocol.AvailableKey] == "true", Version: e.Params[protocol.VersionKey], Event: e}, nil
}

// UpgradeNotify answers an UpgradeNotice: whether to upgrade. The upgrade
// happens after the program exits; an Update event answers, whose
// fromForceWin "true" means a forced upgrade (save work and exit). It returns
// the request id.
func (c *Client) UpgradeNotify(ctx context.Context, upgrade bool, opts ...CallOption) (string, error) {
	return c.request(ctx, protocol.MethodUpgradeNotify, protocol.UpgradeParams{Upgrade: upgrade, ComeBackParams: comeBack(opts)})
}

// OpenCloudFileRequest asks the user to pick a cloud file to open; an
// OpenFile event answers.
func (c *Client) OpenCloudFileRequest(ctx context.Context, opts ...CallOption) (string, error) {
	return c.request(ctx, protocol.MethodOpenCloudFile, protocol.CallParams{ComeBackParams: comeBack(opts)})
}

// OpenFile is the answer of OpenCloudFile.
type OpenFile struct {
	// MainFile is the local path of the file to open (for an assembly, the
	// main file inside the assembly's folder).
	MainFile string
	// OpenType and WorkState are as published ("OpenOnly", "CHECKIN").
	OpenType  string
	WorkState string
	Assembly  bool
	// Event is the OpenFile event as received.
	Event protocol.Event
}

// OpenCloudFile asks the user to pick a cloud file and waits for the pick.
func (c *Client) OpenCloudFile(ctx context.Context, opts ...CallOption) (OpenFile, error) {
	e, err := c.await(ctx, protocol.MethodOpenCloudFile, protocol.CallParams{ComeBackParams: comeBack(opts)}, protocol.EventOpenFile)
	if err != nil {
		return OpenFile{Event: e}, err
	}
	return OpenFile{
		MainFile:  e.Params[protocol.MainFileKey],
		OpenType:  e.Params[protocol.OpenTypeKey],
		WorkState: e.Params[protocol.WorkStateKey],
		Assembly:  e.Params[protocol.AssemblyKey] == "true",
		Event:     e,
	}, nil
}

// SaveRequest saves the file at path, as it is on disk, to the cloud drive;
// with assembly, the folder named like the main file, holding it and all its
// dependencies, as one unit. Events UploadStart, UploadEnd and SaveResult
// follow (block editing between the first two).
func (c *Client) SaveRequest(ctx context.Context, path string, assembly bool, opts ...CallOption) (string, error) {
	return c.request(ctx, protocol.MethodSave, protocol.SaveParams{Path: path, Assembly: assembly, ComeBackParams: comeBack(opts)})
}

// SaveOutcome is the answer of Save.
type SaveOutcome struct {
	RequestID string
	// Result is the SaveResult event; its params may say where the file
	// went (the default storage sets "name", "cloudPath", "sha256",
	// "bytes").
	Result protocol.Event
}

// Save is SaveRequest waiting for the SaveResult. UploadStart and UploadEnd
// still go to the callback and the channel while it waits.
func (c *Client) Save(ctx context.Context, path string, assembly bool, opts ...CallOption) (SaveOutcome, error) {
	e, err := c.await(ctx, protocol.MethodSave, protocol.SaveParams{Path: path, Assembly: assembly, ComeBackParams: comeBack(opts)}, protocol.EventSaveResult)
	return SaveOutcome{RequestID: e.RequestID(), Result: e}, err
}

// GetSolutionRequest submits the model at path for solving; a
// SolutionResult event answers.
func (c *Client) GetSolutionRequest(ctx context.Context, path string, opts ...CallOption) (string, error) {
	return c.request(ctx, protocol.MethodGetSolution, protocol.SolutionParams{Path: path, ComeBackParams: comeBack(opts)})
}

// SolutionOutcome is the answer of GetSolution.
type SolutionOutcome struct {
	RequestID string
	// Result is the SolutionResult event; the default solver sets
	// "resultPath" (the folder of results), "log" and "exitCode".
	Result protocol.Event
}

// GetSolution is GetSolutionRequest waiting for the SolutionResult. Solving
// may take long: give ctx the deadline the program can afford.
func (c *Client) GetSolution(ctx context.Context, path string, opts ...CallOption) (SolutionOutcome, error) {
	e, err := c.await(ctx, protocol.MethodGetSolution, protocol.SolutionParams{Path: path, ComeBackParams: comeBack(opts)}, protocol.EventSolutionResult)
	return SolutionOutcome{RequestID: e.RequestID(), Result: e}, err
}

func saveAsParams(suggested string, opts []CallOption) protocol.SaveAsParams {
	o := options(opts)
	return protocol.SaveAsParams{FileName: suggested, Assembly: o.assembly, ComeBackParams: o.comeBack}
}

// SelectSaveAsPathRequest asks the user where in the cloud drive to save,
// suggesting the file name suggested (a plain name, no folder; with
// SaveAsAssembly, an assembly's main file); a SaveAsPath event answers.
func (c *Client) SelectSaveAsPathRequest(ctx context.Context, suggested string, opts ...CallOption) (string, error) {
	return c.request(ctx, protocol.MethodSelectSaveAsPath, saveAsParams(suggested, opts))
}

// SaveAsPath is the answer of SelectSaveAsPath.
type SaveAsPath struct {
	// Path is where in the cloud drive the file is to be saved: the file,
	// or for an assembly its main file inside the assembly's folder.
	Path string
	// Name is the entry in the cloud drive (the file, or the assembly's
	// folder); FileName the file's name the user chose. Write the file
	// under FileName (an assembly in a folder called Name) and Save it.
	Name     string
	FileName string
	Assembly bool
	// Event is the SaveAsPath event as received.
	Event protocol.Event
}

// SelectSaveAsPath asks the user where in the cloud drive to save and
// waits for the choice. A name the agent refuses fails the call at once; a
// user who closes the chooser gives an *OperationError of Kind "canceled".
func (c *Client) SelectSaveAsPath(ctx context.Context, suggested string, opts ...CallOption) (SaveAsPath, error) {
	e, err := c.await(ctx, protocol.MethodSelectSaveAsPath, saveAsParams(suggested, opts), protocol.EventSaveAsPath)
	if err != nil {
		return SaveAsPath{Event: e}, err
	}
	return parseSaveAsPath(e)
}

// parseSaveAsPath reads a successful SaveAsPath event, refusing one that
// does not name an absolute path ending in the file name, or an entry.
func parseSaveAsPath(e protocol.Event) (SaveAsPath, error) {
	p := SaveAsPath{Path: e.Params[protocol.SavePathKey], Name: e.Params[protocol.NameKey], FileName: e.Params[protocol.FileNameKey], Event: e}
	assembly := e.Params[protocol.AssemblyKey]
	p.Assembly = assembly == "true"
	entry := p.Path
	if p.Assembly {
		entry = filepath.Dir(p.Path)
	}
	if !filepath.IsAbs(p.Path) || p.FileName == "" || filepath.Base(p.Path) != p.FileName || filepath.Base(entry) != p.Name ||
		strings.ContainsAny(p.Name+p.FileName, `/\`) || p.Name == "." || p.Name == ".." || p.FileName == "." || p.FileName == ".." || assembly != "true" && assembly != "false" {
		return SaveAsPath{Event: e}, fmt.Errorf("sdk: %s: %w: SaveAsPath without a usable savePath, name, fileName and assembly: %v", protocol.MethodSelectSaveAsPath, ErrProtocol, e.Params)
	}
	return p, nil
}
