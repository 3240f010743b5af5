/* example.c: license check, save, events, with the iscdesk C library.
 * usage: example VENDOR_PUBLIC_KEY FILE
 * Build: gcc -Wall -I<sdk>/include example.c -L<sdk>/lib -liscdesk */
#include <stdio.h>
#include "iscdesk.h"

static void on_event(int type, const char *json, void *user) {
	(void)type;
	printf("%s: %s\n", (const char *)user, json);
	fflush(stdout);
}

int main(int argc, char **argv) {
	char *dev = NULL, *license = NULL, *result = NULL, *why = NULL;
	int rc;
	iscdesk_client *h = iscdesk_create("example", "1.0.0", NULL);
	if (argc != 3) return 2;
	iscdesk_register_event_recall(h, on_event, "event");
	if ((rc = iscdesk_init(h, 10000)) == ISCDESK_OK) {
		iscdesk_fingerprint(0, &dev);
		if ((rc = iscdesk_get_license_string(h, dev, 30000, &license)) == ISCDESK_OK) {
			rc = iscdesk_verify_device_license(license, argv[1], dev, NULL, &why);
			iscdesk_license_verify_notify(h, rc == ISCDESK_OK, why ? why : "");
		}
		if (rc == ISCDESK_OK) rc = iscdesk_save(h, argv[2], 0, 0, &result);
	}
	if (rc != ISCDESK_OK) {
		char *err = iscdesk_last_error(h);
		fprintf(stderr, "example: %d: %s\n", rc, why ? why : err);
		iscdesk_free(err);
	} else printf("saved: %s\n", result);
	iscdesk_free(dev); iscdesk_free(license); iscdesk_free(result); iscdesk_free(why);
	iscdesk_shut_out(h);
	return rc == ISCDESK_OK ? 0 : 1;
}
