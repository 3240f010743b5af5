#ifndef ISCDESK_BRIDGE_H
#define ISCDESK_BRIDGE_H
#include <stdint.h>
#include "iscdesk.h"

/* const char, so that cgo's export declarations say const char *. */
typedef const char iscdesk_cchar;

void iscdesk_bridge_deliver(iscdesk_event_callback cb, uintptr_t handle, int type, const char *json, void *user);
int iscdesk_bridge_in_callback(uintptr_t handle);
uintptr_t iscdesk_bridge_thread(void);
iscdesk_client *iscdesk_bridge_handle(uintptr_t id);
uintptr_t iscdesk_bridge_id(iscdesk_client *h);
#endif
