/*
 * loadtime LIBRARY: the time to dlopen libiscdesk (the Go runtime starts
 * inside it) and make a first call, in ns, for the README's table. It does
 * not link the library: that is what it measures.
 *
 * Built with gcc -Wall -Wextra -Werror by sdk/c/e2e's TestPerformance.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	long long start, end;
	void *lib;
	const char *(*version)(void);
	if (argc != 2) {
		fprintf(stderr, "usage: loadtime LIBRARY\n");
		return 2;
	}
	start = now_ns();
	lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "loadtime: %s\n", dlerror());
		return 1;
	}
	*(void **)(&version) = dlsym(lib, "iscdesk_version");
	if (version == NULL || version()[0] == 0) {
		fprintf(stderr, "loadtime: no iscdesk_version\n");
		return 1;
	}
	end = now_ns();
	printf("load_ns %lld\n", end - start);
	return 0; /* a Go library cannot be unloaded: no dlclose */
}
