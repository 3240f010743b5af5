#ifndef ISCDESK_BRIDGE_H
#define ISCDESK_BRIDGE_H
#include <stdint.h>
#include "iscdesk.h"

/* The bridge is the library's own: not exported beside iscdesk.h's names. */
#if defined(__GNUC__) && !defined(_WIN32)
#define ISCDESK_HIDDEN __attribute__((visibility("hidden")))
#else
#define ISCDESK_HIDDEN
#endif

/* const char, so that cgo's export declarations say const char *. */
typedef const char iscdesk_cchar;

ISCDESK_HIDDEN void iscdesk_bridge_deliver(iscdesk_event_callback cb, uintptr_t handle, int type, const char *json, void *user);
ISCDESK_HIDDEN int iscdesk_bridge_in_callback(uintptr_t handle);
ISCDESK_HIDDEN uintptr_t iscdesk_bridge_thread(void);
ISCDESK_HIDDEN iscdesk_client *iscdesk_bridge_handle(uintptr_t id);
ISCDESK_HIDDEN uintptr_t iscdesk_bridge_id(iscdesk_client *h);
#endif
