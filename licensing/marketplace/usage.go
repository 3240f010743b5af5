package marketplace

import (
	"context"
	"errors"
	"fmt"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// MaxUsageItems is the most items one usage entry may list (the
// marketplace's limit).
const MaxUsageItems = 100

// ReportDailyUsage reports a day's use of a license code by many devices,
// as the vendor server does once a day: the ids of the devices (one call per
// MaxUsageItems ids) when ids is not empty, otherwise their number as
// active_num. Refusals are reported as ReportUsage reports them.
func (c *Client) ReportDailyUsage(ctx context.Context, code string, ids []string, activeNum int) error {
	code, err := c.precheck(opUsage, code)
	if err != nil {
		return err
	}
	var batches [][]wire.UsageItem
	if len(ids) == 0 {
		if activeNum < 0 {
			return errs.E(opUsage, errs.Invalid, fmt.Errorf("active_num %d: negative", activeNum))
		}
		n := activeNum
		batches = append(batches, []wire.UsageItem{{ActiveNum: &n}})
	}
	for start := 0; start < len(ids); start += MaxUsageItems {
		end := min(start+MaxUsageItems, len(ids))
		items := make([]wire.UsageItem, 0, end-start)
		for _, id := range ids[start:end] {
			if err := checkDeviceID(id); err != nil {
				return errs.E(opUsage, errs.Invalid, err)
			}
			items = append(items, wire.UsageItem{ID: id})
		}
		batches = append(batches, items)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for _, items := range batches {
		req := wire.UsageRequest{UsageInfo: []wire.UsageEntry{{License: code, SoftwareUsageInfo: items}}}
		data, err := c.call(ctx, opUsage, wire.PathUsage, req)
		if err != nil {
			return err
		}
		if failed, code := usageFailure(data); failed {
			return &errs.Error{Op: opUsage, Kind: usageEntryKind(code), Code: c.clean(code, maxCodeLen),
				Err: errors.New("entry refused; data: " + c.clean(dataDetail(data), maxDetailLen))}
		}
	}
	return nil
}
