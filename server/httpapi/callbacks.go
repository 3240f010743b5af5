package httpapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	"github.com/iscdesk/iscdesk/server"
)

// The marketplace's calls (spec marketplace-callbacks.md): the seller
// center is given one of these as the product's production URL.
const (
	// PathCallbacks receives every event, routed on the body's activity
	// (the default product's policy applies to an async license).
	PathCallbacks = "/v1/marketplace/callbacks"
	// PathProductCallbacks is a product's URL, every event on it.
	PathProductCallbacks = PathCallbacks + "/{product}"
	// PathEventCallbacks is a product's URL for one event (the path's last
	// segment is the activity: refreshLicenseCode, releaseLicenseCode,
	// getLicenseAsync), for a product configured "callback_urls": "per_event".
	PathEventCallbacks = PathProductCallbacks + "/{activity}"
)

// maxProductLen caps the product segment of a callback URL.
const maxProductLen = 64

func (a *API) routeCallbacks() {
	a.route("POST "+PathCallbacks, "callback", a.callback)
	a.route("POST "+PathProductCallbacks, "callback", a.callback)
	a.route("POST "+PathEventCallbacks, "callback", a.callback)
}

// callback answers a marketplace call: always 200 with the published
// resultCode (the marketplace reads the body), unless the body cannot be
// read at all.
func (a *API) callback(w http.ResponseWriter, r *http.Request) (int, any) {
	product, activity := r.PathValue("product"), r.PathValue("activity")
	switch activity {
	case "", callback.ActivityRefresh, callback.ActivityRelease, callback.ActivityLicense:
	default:
		return http.StatusNotFound, callback.Answer{ResultCode: callback.ResultInvalidParam, ResultMsg: "no such event: the last path segment names the activity"}
	}
	if len(product) > maxProductLen {
		return http.StatusNotFound, callback.Answer{ResultCode: callback.ResultInvalidParam, ResultMsg: "product id too long"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, callback.MaxBody+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || len(body) > callback.MaxBody:
		return http.StatusRequestEntityTooLarge, callback.Answer{ResultCode: callback.ResultInvalidParam, ResultMsg: "body too large"}
	case err != nil:
		return http.StatusBadRequest, callback.Answer{ResultCode: callback.ResultInvalidParam, ResultMsg: "body could not be read"}
	}
	res := a.cfg.Service.Callback(r.Context(), server.CallbackRequest{Query: r.URL.Query(), Header: r.Header.Get, Body: body, Product: product, Activity: activity})
	if a.cfg.Metrics != nil {
		a.cfg.Metrics.observeCallback(res.Activity, res.ResultCode)
	}
	return http.StatusOK, res.Answer
}
