//go:build cgo

package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include -DISCDESK_BUILDING
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	"sync"
	"time"
	"unsafe"

	"github.com/iscdesk/iscdesk/sdk/c/capi"
)

var handles capi.Registry

// handleOf is the handle h names, or nil.
func handleOf(h *C.iscdesk_client) (*capi.Handle, uintptr) {
	if h == nil {
		return nil, 0
	}
	id := uintptr(C.iscdesk_bridge_id(h))
	return handles.Get(id), id
}

func thread() uintptr { return uintptr(C.iscdesk_bridge_thread()) }

func goString(s *C.iscdesk_cchar) string {
	if s == nil {
		return ""
	}
	return C.GoString((*C.char)(s))
}

func ms(timeout C.int) time.Duration {
	if timeout <= 0 {
		return 0
	}
	return time.Duration(timeout) * time.Millisecond
}

// out stores a copy of s in *p (when p is not NULL).
func out(p **C.char, s string) {
	if p != nil {
		*p = C.CString(s)
	}
}

func clearOut(p **C.char) {
	if p != nil {
		*p = nil
	}
}

func code(c capi.Code) C.int { return C.int(c) }

var version struct {
	once sync.Once
	s    *C.char
}

//export iscdesk_version
func iscdesk_version() *C.iscdesk_cchar {
	version.once.Do(func() { version.s = C.CString(capi.Version) }) // static: never freed
	return (*C.iscdesk_cchar)(version.s)
}

//export iscdesk_free
func iscdesk_free(p unsafe.Pointer) { C.free(p) }

//export iscdesk_last_error
func iscdesk_last_error(h *C.iscdesk_client) *C.char {
	hd, _ := handleOf(h)
	if hd == nil {
		return nil
	}
	return C.CString(hd.LastError(thread()))
}

//export iscdesk_create
func iscdesk_create(app, version, socket *C.iscdesk_cchar) *C.iscdesk_client {
	hd := capi.NewHandle(goString(app), goString(version), goString(socket))
	id := handles.Add(hd)
	hd.InCallback = func() bool { return C.iscdesk_bridge_in_callback(C.uintptr_t(id)) != 0 }
	return C.iscdesk_bridge_handle(C.uintptr_t(id))
}

//export iscdesk_init
func iscdesk_init(h *C.iscdesk_client, timeout C.int) C.int {
	hd, _ := handleOf(h)
	if hd == nil {
		return code(capi.EInvalid)
	}
	return code(hd.SetErr(thread(), hd.Init(ms(timeout))))
}

//export iscdesk_shut_out
func iscdesk_shut_out(h *C.iscdesk_client) C.int {
	hd, id := handleOf(h)
	if hd == nil {
		return code(capi.EInvalid)
	}
	if C.iscdesk_bridge_in_callback(C.uintptr_t(id)) != 0 {
		return code(hd.SetErr(thread(), capi.ErrInCallback))
	}
	handles.Remove(id)
	hd.ShutOut()
	return code(capi.OK)
}

//export iscdesk_register_event_recall
func iscdesk_register_event_recall(h *C.iscdesk_client, cb C.iscdesk_event_callback, user unsafe.Pointer) C.int {
	hd, id := handleOf(h)
	if hd == nil {
		return code(capi.EInvalid)
	}
	if cb == nil {
		hd.SetCallback(nil)
		return code(capi.OK)
	}
	hd.SetCallback(func(eventType int, eventJSON string) {
		s := C.CString(eventJSON)
		defer C.free(unsafe.Pointer(s))
		C.iscdesk_bridge_deliver(cb, C.uintptr_t(id), C.int(eventType), s, user)
	})
	return code(capi.OK)
}

// call runs a call on h giving a string: on success into *result; on
// failure the error is h's last error for this thread, and *result gets
// what the call gave with its error (a failed final event) or NULL.
func call(h *C.iscdesk_client, result **C.char, fn func(*capi.Handle) (string, error)) C.int {
	clearOut(result)
	hd, _ := handleOf(h)
	if hd == nil {
		return code(capi.EInvalid)
	}
	s, err := fn(hd)
	if s != "" {
		out(result, s)
	}
	return code(hd.SetErr(thread(), err))
}

func boolOf(i C.int) bool { return i != 0 }

//export iscdesk_get_license_string_request
func iscdesk_get_license_string_request(h *C.iscdesk_client, devInfo *C.iscdesk_cchar, requestID **C.char) C.int {
	return call(h, requestID, func(hd *capi.Handle) (string, error) { return hd.GetLicenseStringRequest(goString(devInfo)) })
}

//export iscdesk_get_license_file_request
func iscdesk_get_license_file_request(h *C.iscdesk_client, fileName, devInfo *C.iscdesk_cchar, requestID **C.char) C.int {
	return call(h, requestID, func(hd *capi.Handle) (string, error) {
		return hd.GetLicenseFileRequest(goString(fileName), goString(devInfo))
	})
}

//export iscdesk_queue_license_request
func iscdesk_queue_license_request(h *C.iscdesk_client, fileName, devInfo *C.iscdesk_cchar, requestID **C.char) C.int {
	return call(h, requestID, func(hd *capi.Handle) (string, error) {
		return hd.QueueLicenseRequest(goString(fileName), goString(devInfo))
	})
}

//export iscdesk_license_verify_notify
func iscdesk_license_verify_notify(h *C.iscdesk_client, ok C.int, errMsg *C.iscdesk_cchar) C.int {
	return call(h, nil, func(hd *capi.Handle) (string, error) { return "", hd.LicenseVerifyNotify(boolOf(ok), goString(errMsg)) })
}

//export iscdesk_check_new_versions_request
func iscdesk_check_new_versions_request(h *C.iscdesk_client, requestID **C.char) C.int {
	return call(h, requestID, (*capi.Handle).CheckNewVersionsRequest)
}

//export iscdesk_upgrade_notify
func iscdesk_upgrade_notify(h *C.iscdesk_client, upgrade C.int, requestID **C.char) C.int {
	return call(h, requestID, func(hd *capi.Handle) (string, error) { return hd.UpgradeNotify(boolOf(upgrade)) })
}

//export iscdesk_open_cloud_file_request
func iscdesk_open_cloud_file_request(h *C.iscdesk_client, requestID **C.char) C.int {
	return call(h, requestID, (*capi.Handle).OpenCloudFileRequest)
}

//export iscdesk_save_request
func iscdesk_save_request(h *C.iscdesk_client, path *C.iscdesk_cchar, assembly C.int, requestID **C.char) C.int {
	return call(h, requestID, func(hd *capi.Handle) (string, error) { return hd.SaveRequest(goString(path), boolOf(assembly)) })
}

//export iscdesk_get_solution_request
func iscdesk_get_solution_request(h *C.iscdesk_client, path *C.iscdesk_cchar, requestID **C.char) C.int {
	return call(h, requestID, func(hd *capi.Handle) (string, error) { return hd.GetSolutionRequest(goString(path)) })
}

//export iscdesk_select_save_as_path_request
func iscdesk_select_save_as_path_request(h *C.iscdesk_client, fileName *C.iscdesk_cchar, assembly C.int, requestID **C.char) C.int {
	return call(h, requestID, func(hd *capi.Handle) (string, error) {
		return hd.SelectSaveAsPathRequest(goString(fileName), boolOf(assembly))
	})
}

//export iscdesk_get_license_string
func iscdesk_get_license_string(h *C.iscdesk_client, devInfo *C.iscdesk_cchar, timeout C.int, license **C.char) C.int {
	return call(h, license, func(hd *capi.Handle) (string, error) { return hd.GetLicenseString(ms(timeout), goString(devInfo)) })
}

//export iscdesk_get_license_file
func iscdesk_get_license_file(h *C.iscdesk_client, fileName, devInfo *C.iscdesk_cchar, timeout C.int, path **C.char) C.int {
	return call(h, path, func(hd *capi.Handle) (string, error) {
		return hd.GetLicenseFile(ms(timeout), goString(fileName), goString(devInfo))
	})
}

//export iscdesk_check_new_versions
func iscdesk_check_new_versions(h *C.iscdesk_client, timeout C.int, eventJSON **C.char) C.int {
	return call(h, eventJSON, func(hd *capi.Handle) (string, error) { return hd.CheckNewVersions(ms(timeout)) })
}

//export iscdesk_open_cloud_file
func iscdesk_open_cloud_file(h *C.iscdesk_client, timeout C.int, eventJSON **C.char) C.int {
	return call(h, eventJSON, func(hd *capi.Handle) (string, error) { return hd.OpenCloudFile(ms(timeout)) })
}

//export iscdesk_save
func iscdesk_save(h *C.iscdesk_client, path *C.iscdesk_cchar, assembly C.int, timeout C.int, eventJSON **C.char) C.int {
	return call(h, eventJSON, func(hd *capi.Handle) (string, error) { return hd.Save(ms(timeout), goString(path), boolOf(assembly)) })
}

//export iscdesk_get_solution
func iscdesk_get_solution(h *C.iscdesk_client, path *C.iscdesk_cchar, timeout C.int, eventJSON **C.char) C.int {
	return call(h, eventJSON, func(hd *capi.Handle) (string, error) { return hd.GetSolution(ms(timeout), goString(path)) })
}

//export iscdesk_select_save_as_path
func iscdesk_select_save_as_path(h *C.iscdesk_client, fileName *C.iscdesk_cchar, assembly C.int, timeout C.int, eventJSON **C.char) C.int {
	return call(h, eventJSON, func(hd *capi.Handle) (string, error) {
		return hd.SelectSaveAsPath(ms(timeout), goString(fileName), boolOf(assembly))
	})
}

//export iscdesk_event_param
func iscdesk_event_param(eventJSON, key *C.iscdesk_cchar, value **C.char) C.int {
	clearOut(value)
	if eventJSON == nil || key == nil || value == nil {
		return code(capi.EInvalid)
	}
	v, err := capi.EventParam(goString(eventJSON), goString(key))
	if err != nil {
		return code(capi.CodeOf(err))
	}
	out(value, v)
	return code(capi.OK)
}

//export iscdesk_fingerprint
func iscdesk_fingerprint(timeout C.int, devInfo **C.char) C.int {
	if devInfo == nil {
		return code(capi.EInvalid)
	}
	out(devInfo, capi.Fingerprint(ms(timeout)))
	return code(capi.OK)
}

//export iscdesk_verify_device_license
func iscdesk_verify_device_license(license, publicKey, devInfo *C.iscdesk_cchar, claims, errMsg **C.char) C.int {
	clearOut(claims)
	clearOut(errMsg)
	if license == nil || publicKey == nil || devInfo == nil {
		out(errMsg, "iscdesk: license, public_key and dev_info are required")
		return code(capi.EInvalid)
	}
	c, err := capi.VerifyDeviceLicense(goString(license), goString(publicKey), goString(devInfo), time.Now())
	if err != nil {
		out(errMsg, err.Error())
		return code(capi.CodeOf(err))
	}
	out(claims, c)
	return code(capi.OK)
}
