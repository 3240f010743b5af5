package capi

import (
	"context"
	"errors"
	"time"

	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
)

// AcceptTimeout bounds how long an asynchronous call (XxxRequest) waits
// for the desktop client to accept it; the C API gives them no timeout of
// their own, and the answer to a call comes in milliseconds.
const AcceptTimeout = 30 * time.Second

// with runs fn with the connection and a context bounded by timeout (0:
// none).
func with[T any](h *Handle, timeout time.Duration, fn func(context.Context, *sdk.Client) (T, error)) (T, error) {
	c, err := h.Client()
	if err != nil {
		var zero T
		return zero, err
	}
	ctx, cancel := withTimeout(timeout)
	defer cancel()
	return fn(ctx, c)
}

// GetLicenseStringRequest is iscdesk_get_license_string_request.
func (h *Handle) GetLicenseStringRequest(devInfo string) (string, error) {
	return with(h, AcceptTimeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		return c.GetLicenseStringRequest(ctx, devInfo)
	})
}

// GetLicenseFileRequest is iscdesk_get_license_file_request.
func (h *Handle) GetLicenseFileRequest(fileName, devInfo string) (string, error) {
	return with(h, AcceptTimeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		return c.GetLicenseFileRequest(ctx, fileName, devInfo)
	})
}

// QueueLicenseRequest is iscdesk_queue_license_request: a license request
// that, for a floating license whose pool is full, waits in the agent's
// queue (a LicenseQueued event, then LicenseVerify when a lease frees); as
// a file when fileName is set, else as a string.
func (h *Handle) QueueLicenseRequest(fileName, devInfo string) (string, error) {
	return with(h, AcceptTimeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		if fileName != "" {
			return c.GetLicenseFileRequest(ctx, fileName, devInfo, sdk.QueueForLease())
		}
		return c.GetLicenseStringRequest(ctx, devInfo, sdk.QueueForLease())
	})
}

// LicenseVerifyNotify is iscdesk_license_verify_notify.
func (h *Handle) LicenseVerifyNotify(ok bool, errMsg string) error {
	_, err := with(h, AcceptTimeout, func(ctx context.Context, c *sdk.Client) (struct{}, error) {
		return struct{}{}, c.LicenseVerifyNotify(ctx, ok, errMsg)
	})
	return err
}

// CheckNewVersionsRequest is iscdesk_check_new_versions_request.
func (h *Handle) CheckNewVersionsRequest() (string, error) {
	return with(h, AcceptTimeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		return c.CheckNewVersionsRequest(ctx)
	})
}

// UpgradeNotify is iscdesk_upgrade_notify.
func (h *Handle) UpgradeNotify(upgrade bool) (string, error) {
	return with(h, AcceptTimeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		return c.UpgradeNotify(ctx, upgrade)
	})
}

// OpenCloudFileRequest is iscdesk_open_cloud_file_request.
func (h *Handle) OpenCloudFileRequest() (string, error) {
	return with(h, AcceptTimeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		return c.OpenCloudFileRequest(ctx)
	})
}

// SaveRequest is iscdesk_save_request.
func (h *Handle) SaveRequest(path string, assembly bool) (string, error) {
	return with(h, AcceptTimeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		return c.SaveRequest(ctx, path, assembly)
	})
}

// GetSolutionRequest is iscdesk_get_solution_request.
func (h *Handle) GetSolutionRequest(path string) (string, error) {
	return with(h, AcceptTimeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		return c.GetSolutionRequest(ctx, path)
	})
}

// SelectSaveAsPathRequest is iscdesk_select_save_as_path_request.
func (h *Handle) SelectSaveAsPathRequest(fileName string, assembly bool) (string, error) {
	return with(h, AcceptTimeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		return c.SelectSaveAsPathRequest(ctx, fileName, saveAsOptions(assembly)...)
	})
}

func saveAsOptions(assembly bool) []sdk.CallOption {
	if assembly {
		return []sdk.CallOption{sdk.SaveAsAssembly()}
	}
	return nil
}

// GetLicenseString is iscdesk_get_license_string: the device license.
func (h *Handle) GetLicenseString(timeout time.Duration, devInfo string) (string, error) {
	return with(h, timeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		tok, err := c.GetLicenseString(ctx, devInfo)
		h.licenseDelivered(tok, protocol.LicenseContentKey, err)
		return tok, err
	})
}

// GetLicenseFile is iscdesk_get_license_file: the license file's path.
func (h *Handle) GetLicenseFile(timeout time.Duration, fileName, devInfo string) (string, error) {
	return with(h, timeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		path, err := c.GetLicenseFile(ctx, fileName, devInfo)
		h.licenseDelivered(path, protocol.LicenseFilePathKey, err)
		return path, err
	})
}

// licenseDelivered waits for the LicenseVerify event that gave value under
// key, or that reported err, to reach the callback (sdk's license helpers
// give the content, not the event).
func (h *Handle) licenseDelivered(value, key string, err error) {
	var op *sdk.OperationError
	switch {
	case errors.As(err, &op):
		h.delivered(sameRequest(op.Event))
	case err == nil:
		h.delivered(func(e protocol.Event) bool {
			return e.Operate == protocol.EventLicenseVerify && e.Params[key] == value
		})
	}
}

// CheckNewVersions is iscdesk_check_new_versions: the UpgradeNotice's JSON.
func (h *Handle) CheckNewVersions(timeout time.Duration) (string, error) {
	return with(h, timeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		v, err := c.CheckNewVersions(ctx)
		return h.finalEvent(v.Event, err)
	})
}

// OpenCloudFile is iscdesk_open_cloud_file: the OpenFile event's JSON.
func (h *Handle) OpenCloudFile(timeout time.Duration) (string, error) {
	return with(h, timeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		f, err := c.OpenCloudFile(ctx)
		return h.finalEvent(f.Event, err)
	})
}

// finalEvent is FinalEvent, once the callback has been given the event.
func (h *Handle) finalEvent(e protocol.Event, err error) (string, error) {
	var op *sdk.OperationError
	if errors.As(err, &op) {
		e = op.Event
	}
	if e.RequestID() != "" {
		h.delivered(sameRequest(e))
	}
	return FinalEvent(e, err)
}

// Save is iscdesk_save: the SaveResult's JSON.
func (h *Handle) Save(timeout time.Duration, path string, assembly bool) (string, error) {
	return with(h, timeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		o, err := c.Save(ctx, path, assembly)
		return h.finalEvent(o.Result, err)
	})
}

// GetSolution is iscdesk_get_solution: the SolutionResult's JSON.
func (h *Handle) GetSolution(timeout time.Duration, path string) (string, error) {
	return with(h, timeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		o, err := c.GetSolution(ctx, path)
		return h.finalEvent(o.Result, err)
	})
}

// SelectSaveAsPath is iscdesk_select_save_as_path: the SaveAsPath event's
// JSON.
func (h *Handle) SelectSaveAsPath(timeout time.Duration, fileName string, assembly bool) (string, error) {
	return with(h, timeout, func(ctx context.Context, c *sdk.Client) (string, error) {
		p, err := c.SelectSaveAsPath(ctx, fileName, saveAsOptions(assembly)...)
		return h.finalEvent(p.Event, err)
	})
}
