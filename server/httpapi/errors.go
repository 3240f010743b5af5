package httpapi

import (
	"errors"
	"net/http"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/wire"
)

// ErrorBody is the body of every error answer.
type ErrorBody = wire.ErrorBody

// ErrorDetail says what failed.
type ErrorDetail = wire.ErrorDetail

// kindStatus is the one table from error kinds to HTTP statuses.
var kindStatus = map[errs.Kind]int{
	errs.Invalid:      http.StatusBadRequest,
	errs.Permission:   http.StatusForbidden,
	errs.NotFound:     http.StatusNotFound,
	errs.NotExist:     http.StatusNotFound,
	errs.NotActivated: http.StatusConflict,
	errs.NotDelivered: http.StatusConflict,
	errs.Expired:      http.StatusGone,
	errs.Released:     http.StatusGone,
	errs.WrongMachine: http.StatusConflict,
	errs.Busy:         http.StatusTooManyRequests,
	errs.Unavailable:  http.StatusServiceUnavailable,
	errs.Canceled:     499, // the client went away (nginx's code); never read
}

// errorAnswer turns a use case's error into a status and body. Failures of
// the server itself (the database, the marketplace's answers or its
// refusal of the vendor's AK/SK) are told to the device as "unavailable"
// without their detail, which is logged instead.
func errorAnswer(err error) (int, ErrorBody) {
	kind := errs.KindOf(err)
	d := ErrorDetail{Kind: kind.Name(), Message: err.Error()}
	var r *server.Refusal
	if errors.As(err, &r) {
		d.Reason, d.Message, d.Seats, d.EarliestEnd = r.Reason, r.Message, r.Seats, r.EarliestEnd
		for _, h := range r.Holders {
			d.Holders = append(d.Holders, wire.Holder{Host: h.Host, ActivatedAt: h.ActivatedAt, Until: h.Until})
		}
	}
	switch kind {
	case errs.Other:
		return http.StatusInternalServerError, ErrorBody{Error: ErrorDetail{Kind: kind.Name(), Message: "internal error of the license server"}}
	case errs.Credentials, errs.Protocol:
		return http.StatusBadGateway, ErrorBody{Error: ErrorDetail{Kind: errs.Unavailable.Name(),
			Message: "the license server could not get an answer from the marketplace; try again later"}}
	case errs.Unavailable:
		d.Message = "the license server or the marketplace is unavailable; try again later"
	}
	status, ok := kindStatus[kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	return status, ErrorBody{Error: d}
}
