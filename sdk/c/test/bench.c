/*
 * bench: the round trip of a call from C, for the README's table.
 *
 *   bench roundtrip N        the median and 99th percentile of N calls of
 *                            iscdesk_license_verify_notify (a call the agent
 *                            answers at once, no event) over the real socket
 *                            ($ISCDESK_AGENT_SOCKET), in ns
 *
 * Built with gcc -Wall -Wextra -Werror by sdk/c/e2e's TestPerformance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "iscdesk.h"

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static int roundtrip(int n) {
	iscdesk_client *h = iscdesk_create("bench", "1.0.0", NULL);
	long long *d = malloc(sizeof *d * (size_t)n);
	int i, rc;
	if ((rc = iscdesk_init(h, 10000)) != ISCDESK_OK) {
		char *e = iscdesk_last_error(h);
		fprintf(stderr, "bench: init: %d %s\n", rc, e);
		iscdesk_free(e);
		return 1;
	}
	for (i = 0; i < n / 10 + 1; i++) iscdesk_license_verify_notify(h, 1, ""); /* warm up */
	for (i = 0; i < n; i++) {
		long long start = now_ns();
		if ((rc = iscdesk_license_verify_notify(h, 1, "")) != ISCDESK_OK) {
			fprintf(stderr, "bench: call %d: %d\n", i, rc);
			return 1;
		}
		d[i] = now_ns() - start;
	}
	qsort(d, (size_t)n, sizeof *d, cmp);
	printf("median_ns %lld\np99_ns %lld\n", d[n / 2], d[n * 99 / 100]);
	free(d);
	iscdesk_shut_out(h);
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 3 && strcmp(argv[1], "roundtrip") == 0) return roundtrip(atoi(argv[2]));
	fprintf(stderr, "usage: bench roundtrip N\n");
	return 2;
}
