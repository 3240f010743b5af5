/*
 * iscdesk.h: the iscdesk SDK for C (and, through iscdesk.hpp and iscdesk.py,
 * for C++ and Python). A program links libiscdesk (Linux: libiscdesk.so;
 * Windows: iscdesk.dll with its import library iscdesk.lib) and talks to the
 * iscdesk desktop client running on the same machine, as the published
 * ISCDesk C++ SDK (IscdeskApi64.dll, SdkInvoker) does: Init, register the
 * event callback, ask for licenses, save, open, solve, ShutOut.
 *
 * Conventions
 *
 * - Strings are UTF-8, in and out, NUL-terminated.
 * - Every function returns ISCDESK_OK (0) or a negative ISCDESK_E_* code,
 *   except iscdesk_create (a handle), iscdesk_version (a static
 *   string) and the void ones.
 * - Strings the library returns through a char ** out parameter are the
 *   caller's: release each with iscdesk_free. On failure the out parameter
 *   is set to NULL, except where a function says otherwise. The string
 *   handed to the event callback belongs to the library and is valid only
 *   until the callback returns: copy it to keep it.
 * - Last error: after a call on a handle fails, iscdesk_last_error(handle)
 *   gives a copy of the message of the last failed call made on that handle
 *   by the calling thread (like errno: other threads' failures do not
 *   overwrite it). Calls without a handle give their message through an
 *   optional char **error_message parameter.
 * - Threads: every function may be called from any thread, and calls on
 *   one handle from several threads at once are safe. The event callback
 *   runs on a thread of the library, never on the caller's thread, one
 *   event at a time per handle, in the order the events arrived. While it
 *   runs, later events wait (up to 4096; beyond that the oldest are
 *   dropped). The callback may call every function of the library except
 *   iscdesk_shut_out on its own handle, which returns ISCDESK_E_IN_CALLBACK
 *   there instead of deadlocking (the published SDK deadlocks); set a flag
 *   and shut out from the program's own thread.
 * - Connection: the transport is a socket private to the user. When the
 *   desktop client restarts, the library reconnects by itself: calls in
 *   flight fail with ISCDESK_E_DISCONNECTED, later calls succeed once it is
 *   back (a call waits up to 2 s for the connection).
 * - Timeouts: timeout_ms > 0 bounds a call; 0 means no bound.
 *
 * Every declaration is C89 (and C++: they are inside extern "C").
 */
#ifndef ISCDESK_H
#define ISCDESK_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  ifdef ISCDESK_BUILDING
#    define ISCDESK_API __declspec(dllexport)
#  else
#    define ISCDESK_API __declspec(dllimport)
#  endif
#else
#  define ISCDESK_API
#endif

/* Return codes. */
#define ISCDESK_OK                     0
#define ISCDESK_E_INVALID             -1  /* a NULL or invalid argument or handle */
#define ISCDESK_E_NOT_CONNECTED       -2  /* iscdesk_init not called, or it failed */
#define ISCDESK_E_DISCONNECTED        -3  /* the desktop client is not reachable now (retry later) */
#define ISCDESK_E_REFUSED             -4  /* the desktop client will not do this call (see last error) */
#define ISCDESK_E_FAILED              -5  /* accepted, but its final event says status "failed" */
#define ISCDESK_E_TIMEOUT             -6  /* timeout_ms passed */
#define ISCDESK_E_IN_CALLBACK         -7  /* iscdesk_shut_out called from inside its own callback */
#define ISCDESK_E_NOT_PRIVATE         -8  /* the socket is not this user's: nothing was sent */
#define ISCDESK_E_PROTOCOL            -9  /* the desktop client answered something unusable */
#define ISCDESK_E_LICENSE_MALFORMED  -10  /* not a device license */
#define ISCDESK_E_LICENSE_SIGNATURE  -11  /* not signed by the vendor's key */
#define ISCDESK_E_LICENSE_EXPIRED    -12
#define ISCDESK_E_LICENSE_NOT_YET_VALID -13
#define ISCDESK_E_LICENSE_WRONG_DEVICE  -14 /* bound to another machine (tolerance policy) */
#define ISCDESK_E_NOT_FOUND          -15  /* iscdesk_event_param: no such key */
#define ISCDESK_E_INTERNAL           -99

/* Event types: the "operate" of the event's JSON. */
#define ISCDESK_EVENT_OTHER            0  /* an event this header does not name */
#define ISCDESK_EVENT_LICENSE_VERIFY   1  /* "LicenseVerify" */
#define ISCDESK_EVENT_UPGRADE_NOTICE   2  /* "UpgradeNotice" */
#define ISCDESK_EVENT_UPDATE           3  /* "Update" */
#define ISCDESK_EVENT_OPEN_FILE        4  /* "OpenFile" */
#define ISCDESK_EVENT_UPLOAD_START     5  /* "UploadStart" */
#define ISCDESK_EVENT_UPLOAD_END       6  /* "UploadEnd" */
#define ISCDESK_EVENT_SAVE_RESULT      7  /* "SaveResult" */
#define ISCDESK_EVENT_SOLUTION_RESULT  8  /* "SolutionResult" */
#define ISCDESK_EVENT_LICENSE_QUEUED   9  /* "LicenseQueued": a floating license's pool is full (this project's) */
#define ISCDESK_EVENT_SAVE_AS_PATH    10  /* "SaveAsPath": where the user chose to save */

/* An opaque connection to the desktop client. */
typedef struct iscdesk_client iscdesk_client;

/* The event callback: the event type, the event as published JSON
 * ({"operate":…,"params":{…},"comeBackParams":{…,"requestId":…}}, every
 * param value a string), and the user pointer given at registration. */
typedef void (*iscdesk_event_callback)(int event_type, const char *event_json, void *user_data);

/* The library's version ("0.1.0"): a static string, not to be freed. */
ISCDESK_API const char *iscdesk_version(void);

/* Releases a string the library returned. NULL is ignored. */
ISCDESK_API void iscdesk_free(void *p);

/* A copy of the message of the calling thread's last failed call on h
 * ("" when none): release it with iscdesk_free. NULL when h is invalid. */
ISCDESK_API char *iscdesk_last_error(iscdesk_client *h);

/* A new handle, not yet connected. app_name and app_version name the
 * program to the desktop client (it checks new versions by them);
 * socket_path is where the desktop client listens (NULL: the per-user
 * default, or $ISCDESK_AGENT_SOCKET). Each may be NULL. Every handle is
 * released by iscdesk_shut_out, connected or not. */
ISCDESK_API iscdesk_client *iscdesk_create(const char *app_name, const char *app_version, const char *socket_path);

/* Init: connects to the desktop client (fails when none answers within
 * timeout_ms). Once connected, the handle reconnects by itself. Calling it
 * again on a connected handle does nothing. */
ISCDESK_API int iscdesk_init(iscdesk_client *h, int timeout_ms);

/* ShutOut: disconnects and releases h. A callback running on another
 * thread is waited for; no callback runs after it returns. From inside h's
 * own callback it returns ISCDESK_E_IN_CALLBACK and h stays valid. */
ISCDESK_API int iscdesk_shut_out(iscdesk_client *h);

/* RegisterEventRecall: sets the callback that receives every event of h,
 * with user_data; a NULL callback removes it. */
ISCDESK_API int iscdesk_register_event_recall(iscdesk_client *h, iscdesk_event_callback callback, void *user_data);

/*
 * The published calls. Each XxxRequest returns, once the desktop client
 * accepted it, the request id (*request_id, to free) that the events
 * answering it carry in comeBackParams.requestId; the events reach the
 * callback. request_id may be NULL when the program does not need it.
 */
ISCDESK_API int iscdesk_get_license_string_request(iscdesk_client *h, const char *dev_info, char **request_id);
ISCDESK_API int iscdesk_get_license_file_request(iscdesk_client *h, const char *file_name, const char *dev_info, char **request_id);
/* This project's, for floating licenses: a license request (as a file when
 * file_name is not NULL, else as a string) that, when every lease of the
 * pool is taken, waits in the desktop client's queue instead of failing: a
 * LicenseQueued event names the holders and the earliest end, and the
 * LicenseVerify event follows when a lease frees. */
ISCDESK_API int iscdesk_queue_license_request(iscdesk_client *h, const char *file_name, const char *dev_info, char **request_id);
ISCDESK_API int iscdesk_license_verify_notify(iscdesk_client *h, int ok, const char *error_message);
ISCDESK_API int iscdesk_check_new_versions_request(iscdesk_client *h, char **request_id);
ISCDESK_API int iscdesk_upgrade_notify(iscdesk_client *h, int upgrade, char **request_id);
ISCDESK_API int iscdesk_open_cloud_file_request(iscdesk_client *h, char **request_id);
/* Save: assembly != 0 saves the folder named like the file, which holds
 * it and its dependencies, as one unit. The file must be on disk. */
ISCDESK_API int iscdesk_save_request(iscdesk_client *h, const char *path, int assembly, char **request_id);
ISCDESK_API int iscdesk_get_solution_request(iscdesk_client *h, const char *path, char **request_id);
/* SelectSaveAsPath: asks the user where in the cloud drive to save,
 * suggesting file_name (a plain file name, no folder; assembly != 0: an
 * assembly's main file). A SaveAsPath event answers: params "savePath"
 * (where in the cloud drive), "name" (the drive entry), "fileName",
 * "assembly"; kind "canceled" when the user closed the chooser. A
 * suggestion that is not a portable name is refused: ISCDESK_E_INVALID. */
ISCDESK_API int iscdesk_select_save_as_path_request(iscdesk_client *h, const char *file_name, int assembly, char **request_id);

/*
 * The same calls, waiting up to timeout_ms for their final event. Every
 * event, the final one included, also reaches the callback, and they return
 * only once the callback has been given the final event too (waiting at
 * most 2 s for a callback busy with earlier events): a program that shuts
 * out right after one has seen all of its events. They may be called from
 * inside the callback (they then return without that wait).
 *
 * The license calls give what their LicenseVerify event carries: the
 * device license (*license, to free; check it with
 * iscdesk_verify_device_license) or the path of the license file (*path,
 * to free). When the event says status "failed" they return
 * ISCDESK_E_FAILED and the last error says why.
 *
 * The others give the final event (UpgradeNotice, OpenFile, SaveResult,
 * SolutionResult, SaveAsPath) as JSON in *event_json (to free). When it says status
 * "failed" they return ISCDESK_E_FAILED and still give the event: its
 * params "reason" and "kind" say why.
 */
ISCDESK_API int iscdesk_get_license_string(iscdesk_client *h, const char *dev_info, int timeout_ms, char **license);
ISCDESK_API int iscdesk_get_license_file(iscdesk_client *h, const char *file_name, const char *dev_info, int timeout_ms, char **path);
ISCDESK_API int iscdesk_check_new_versions(iscdesk_client *h, int timeout_ms, char **event_json);
ISCDESK_API int iscdesk_open_cloud_file(iscdesk_client *h, int timeout_ms, char **event_json);
ISCDESK_API int iscdesk_save(iscdesk_client *h, const char *path, int assembly, int timeout_ms, char **event_json);
ISCDESK_API int iscdesk_get_solution(iscdesk_client *h, const char *path, int timeout_ms, char **event_json);
ISCDESK_API int iscdesk_select_save_as_path(iscdesk_client *h, const char *file_name, int assembly, int timeout_ms, char **event_json);

/* Reads one param of an event's JSON (as the callback or the waiting calls
 * give it): *value (to free) is params[key]; with key "operate", the
 * operate; with a key starting "comeBackParams.", that comeBackParams
 * entry. ISCDESK_E_NOT_FOUND when absent, ISCDESK_E_INVALID when event_json
 * is not an event. */
ISCDESK_API int iscdesk_event_param(const char *event_json, const char *key, char **value);

/* This machine's fingerprint, devInfo ("MAC|disk|board|CPU"), as
 * `iscdesk fingerprint` prints it (the same probes; a part that cannot be
 * read is empty). */
ISCDESK_API int iscdesk_fingerprint(int timeout_ms, char **dev_info);

/* Verifies a device license offline: its Ed25519 signature by the vendor's
 * public key (standard base64, as published), its validity period, and
 * that it is bound to dev_info under the tolerance policy (at least one of
 * MAC, disk, board still matches; the CPU never counts alone; at most one
 * part changed). On success *claims_json (to free; may be NULL) holds the
 * license's claims. On failure, an ISCDESK_E_LICENSE_* code (or
 * ISCDESK_E_INVALID for a bad key) and *error_message (to free; may be
 * NULL) says why. */
ISCDESK_API int iscdesk_verify_device_license(const char *license, const char *public_key, const char *dev_info, char **claims_json, char **error_message);

#ifdef __cplusplus
}
#endif

#endif /* ISCDESK_H */
