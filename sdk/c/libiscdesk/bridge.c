//go:build cgo

/* The C side of libiscdesk: what Go cannot do, calling the program's
 * function pointer and thread-local state. */
#include <stdint.h>
#include "bridge.h"

#if defined(_MSC_VER)
#  define ISCDESK_TLS __declspec(thread)
#else
#  define ISCDESK_TLS __thread
#endif

/* The handle whose callback the calling thread is running, 0 if none. */
static ISCDESK_TLS uintptr_t running_callback;
/* A byte per thread: its address identifies the calling thread. */
static ISCDESK_TLS char thread_marker;

void iscdesk_bridge_deliver(iscdesk_event_callback cb, uintptr_t handle, int type, const char *json, void *user) {
	uintptr_t outer = running_callback;
	running_callback = handle;
	cb(type, json, user);
	running_callback = outer;
}

int iscdesk_bridge_in_callback(uintptr_t handle) { return running_callback == handle; }

uintptr_t iscdesk_bridge_thread(void) { return (uintptr_t)&thread_marker; }

iscdesk_client *iscdesk_bridge_handle(uintptr_t id) { return (iscdesk_client *)id; }

uintptr_t iscdesk_bridge_id(iscdesk_client *h) { return (uintptr_t)h; }
