/*
 * ctest: the C test program of libiscdesk, run by sdk/c/e2e against a real
 * agent (`iscdesk agent`). It makes every call of iscdesk.h and checks the
 * answers; it prints each event it receives as "event <json>" so that the
 * Go test checks the published JSON shape, and "restart" when it wants the
 * agent restarted (it then reads one line on standard input).
 *
 * usage: ctest SOCKET VENDOR_KEY WORKDIR DEVINFO
 * WORKDIR holds part.prt (saved, then solved) and bad.prt (its solve fails);
 * DEVINFO is what `iscdesk fingerprint` printed, which iscdesk_fingerprint
 * must equal, except under valgrind (CTEST_VALGRIND set), whose virtual CPU
 * has another CPUID: the license calls then use DEVINFO, the agent's.
 *
 * Built with gcc -Wall -Wextra -Werror (Linux) and x86_64-w64-mingw32-gcc
 * (Windows); C99.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "iscdesk.h"

#ifdef _WIN32
#include <windows.h>
typedef HANDLE thread_t;
typedef CRITICAL_SECTION mutex_t;
static void mutex_init(mutex_t *m) { InitializeCriticalSection(m); }
static void mutex_lock(mutex_t *m) { EnterCriticalSection(m); }
static void mutex_unlock(mutex_t *m) { LeaveCriticalSection(m); }
static void sleep_ms(int ms) { Sleep((DWORD)ms); }
typedef struct { void *(*fn)(void *); void *arg; } thread_start;
static DWORD WINAPI thread_tramp(LPVOID p) { thread_start *s = p; s->fn(s->arg); free(s); return 0; }
static int thread_create(thread_t *t, void *(*fn)(void *), void *arg) {
	thread_start *s = malloc(sizeof *s);
	s->fn = fn; s->arg = arg;
	*t = CreateThread(NULL, 0, thread_tramp, s, 0, NULL);
	return *t == NULL;
}
static void thread_join(thread_t t) { WaitForSingleObject(t, INFINITE); CloseHandle(t); }
#define SEP "\\"
#else
#include <pthread.h>
#include <time.h>
typedef pthread_t thread_t;
typedef pthread_mutex_t mutex_t;
static void mutex_init(mutex_t *m) { pthread_mutex_init(m, NULL); }
static void mutex_lock(mutex_t *m) { pthread_mutex_lock(m); }
static void mutex_unlock(mutex_t *m) { pthread_mutex_unlock(m); }
static void sleep_ms(int ms) { struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L }; nanosleep(&ts, NULL); }
static int thread_create(thread_t *t, void *(*fn)(void *), void *arg) { return pthread_create(t, NULL, fn, arg); }
static void thread_join(thread_t t) { pthread_join(t, NULL); }
#define SEP "/"
#endif

#define TIMEOUT 20000
#define MAX_EVENTS 256

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); fflush(stdout); } } while (0)

/* Every event the first handle received, copied. */
static struct {
	mutex_t mu;
	int n;
	int type[MAX_EVENTS];
	char *json[MAX_EVENTS];
} events;

static void on_event(int type, const char *json, void *user) {
	int *calls = user;
	mutex_lock(&events.mu);
	(*calls)++;
	if (events.n < MAX_EVENTS) {
		events.type[events.n] = type;
		events.json[events.n] = malloc(strlen(json) + 1);
		strcpy(events.json[events.n], json);
		events.n++;
	}
	printf("event %s\n", json);
	fflush(stdout);
	mutex_unlock(&events.mu);
}

/* param returns a copy of key in event json ("" when absent): to free. */
static char *param(const char *json, const char *key) {
	char *v = NULL;
	if (iscdesk_event_param(json, key, &v) != ISCDESK_OK) {
		v = malloc(1);
		v[0] = 0;
	}
	return v;
}

static int param_is(const char *json, const char *key, const char *want) {
	char *v = param(json, key);
	int same = strcmp(v, want) == 0;
	if (!same) printf("  %s is %s, want %s\n", key, v, want);
	iscdesk_free(v);
	return same;
}

/* wait_event waits up to wait_ms for the event of type for request id rid
 * and returns its JSON (owned by events), or NULL. */
static const char *wait_event_ms(int type, const char *rid, int wait_ms) {
	int waited, i;
	for (waited = 0; waited <= wait_ms; waited += 10) {
		const char *found = NULL;
		mutex_lock(&events.mu);
		for (i = 0; i < events.n && !found; i++) {
			char *r;
			if (events.type[i] != type) continue;
			r = param(events.json[i], "comeBackParams.requestId");
			if (strcmp(r, rid) == 0) found = events.json[i];
			iscdesk_free(r);
		}
		mutex_unlock(&events.mu);
		if (found) return found;
		if (wait_ms > 0) sleep_ms(10);
	}
	return NULL;
}

static const char *wait_event(int type, const char *rid) { return wait_event_ms(type, rid, TIMEOUT); }

/* received checks that the final event a waiting call returned has already
 * reached the callback, as the header promises. */
static void received(int type, const char *event_json) {
	char *rid = param(event_json, "comeBackParams.requestId");
	CHECK(rid[0] != 0 && wait_event_ms(type, rid, 0) != NULL, "the callback has not received %s yet", event_json);
	iscdesk_free(rid);
}

static char *last_error(iscdesk_client *h) { return iscdesk_last_error(h); }

static void expect_ok(iscdesk_client *h, int rc, const char *what) {
	if (rc != ISCDESK_OK) {
		char *e = last_error(h);
		CHECK(0, "%s: %d: %s", what, rc, e ? e : "(no handle)");
		iscdesk_free(e);
	} else {
		printf("ok %s\n", what);
		fflush(stdout);
	}
}

/* Two threads at once: each saves and checks versions on the same handle. */
struct worker {
	iscdesk_client *h;
	const char *path;
	int rc;
};

static void *work(void *p) {
	struct worker *w = p;
	int i;
	w->rc = ISCDESK_OK;
	for (i = 0; i < 5 && w->rc == ISCDESK_OK; i++) {
		char *ev = NULL;
		w->rc = iscdesk_save(w->h, w->path, 0, TIMEOUT, &ev);
		if (w->rc == ISCDESK_OK && !param_is(ev, "status", "success")) w->rc = ISCDESK_E_INTERNAL;
		iscdesk_free(ev);
		ev = NULL;
		if (w->rc == ISCDESK_OK) w->rc = iscdesk_check_new_versions(w->h, TIMEOUT, &ev);
		iscdesk_free(ev);
	}
	return NULL;
}

/* A callback that tries to shut out its own handle. */
struct inner {
	iscdesk_client *h;
	mutex_t mu;
	int rc, called, wait_rc;
	char *err;
};

static void shut_out_inside(int type, const char *json, void *user) {
	struct inner *in = user;
	(void)type;
	(void)json;
	mutex_lock(&in->mu);
	if (!in->called) {
		in->called = 1;
		char *ev = NULL;
		in->rc = iscdesk_shut_out(in->h);
		in->err = iscdesk_last_error(in->h);
		/* A waiting call from inside the callback neither deadlocks nor
		 * waits for the callback it runs in. */
		in->wait_rc = iscdesk_check_new_versions(in->h, TIMEOUT, &ev);
		iscdesk_free(ev);
	}
	mutex_unlock(&in->mu);
}

int main(int argc, char **argv) {
	const char *socket, *key, *dir;
	char part[4096], bad[4096], missing[4096];
	iscdesk_client *h, *h2;
	char *dev = NULL, *rid = NULL, *lic = NULL, *ev = NULL, *claims = NULL, *msg = NULL, *s = NULL;
	const char *e;
	int rc, calls = 0;
	struct worker w1, w2;
	thread_t t1, t2;
	struct inner in;

	if (argc != 5) {
		fprintf(stderr, "usage: ctest SOCKET VENDOR_KEY WORKDIR DEVINFO\n");
		return 2;
	}
	socket = argv[1];
	key = argv[2];
	dir = argv[3];
	snprintf(part, sizeof part, "%s" SEP "part.prt", dir);
	snprintf(bad, sizeof bad, "%s" SEP "bad.prt", dir);
	snprintf(missing, sizeof missing, "%s" SEP "missing.prt", dir);
	mutex_init(&events.mu);

	CHECK(strcmp(iscdesk_version(), "") != 0, "version is empty");
	printf("version %s\n", iscdesk_version());

	/* Before Init: not connected; a NULL handle: invalid. */
	h = iscdesk_create("ctest", "1.0.0", socket);
	CHECK(h != NULL, "create");
	rc = iscdesk_save_request(h, part, 0, &rid);
	CHECK(rc == ISCDESK_E_NOT_CONNECTED && rid == NULL, "save before init: %d", rc);
	s = last_error(h);
	CHECK(s && strstr(s, "iscdesk_init") != NULL, "last error before init: %s", s ? s : "NULL");
	iscdesk_free(s);
	CHECK(iscdesk_init(NULL, 0) == ISCDESK_E_INVALID, "init(NULL)");
	CHECK(iscdesk_last_error(NULL) == NULL, "last_error(NULL)");

	expect_ok(h, iscdesk_register_event_recall(h, on_event, &calls), "register_event_recall");
	expect_ok(h, iscdesk_init(h, TIMEOUT), "init");
	expect_ok(h, iscdesk_init(h, TIMEOUT), "init again");

	/* The license: fingerprint, string, offline verify, notify. */
	expect_ok(h, iscdesk_fingerprint(0, &dev), "fingerprint");
	printf("devinfo %s\n", dev);
	CHECK(strchr(dev, '|') != NULL, "fingerprint %s", dev);
	if (getenv("CTEST_VALGRIND") == NULL) {
		CHECK(strcmp(dev, argv[4]) == 0, "iscdesk_fingerprint gives %s, iscdesk fingerprint %s", dev, argv[4]);
	} else {
		iscdesk_free(dev);
		dev = malloc(strlen(argv[4]) + 1);
		strcpy(dev, argv[4]);
	}
	expect_ok(h, iscdesk_get_license_string_request(h, dev, &rid), "get_license_string_request");
	e = wait_event(ISCDESK_EVENT_LICENSE_VERIFY, rid);
	CHECK(e && param_is(e, "Status", "success") && param_is(e, "LicenseType", "string") && param_is(e, "operate", "LicenseVerify"),
		"LicenseVerify (string) event: %s", e ? e : "none");
	iscdesk_free(rid);
	rid = NULL;
	expect_ok(h, iscdesk_get_license_string(h, dev, TIMEOUT, &lic), "get_license_string");
	rc = iscdesk_verify_device_license(lic, key, dev, &claims, &msg);
	CHECK(rc == ISCDESK_OK && claims && strstr(claims, "\"dev\"") != NULL, "verify: %d %s", rc, msg ? msg : "");
	printf("claims %s\n", claims ? claims : "");
	iscdesk_free(claims);
	iscdesk_free(msg);
	claims = msg = NULL;
	rc = iscdesk_verify_device_license(lic, key, "02:00:00:00:00:01|OTHERDISK|OTHERBOARD|CPU", &claims, &msg);
	CHECK(rc == ISCDESK_E_LICENSE_WRONG_DEVICE && claims == NULL && msg != NULL, "verify on another machine: %d", rc);
	iscdesk_free(msg);
	msg = NULL;
	lic[strlen(lic) - 2] = lic[strlen(lic) - 2] == 'A' ? 'B' : 'A';
	rc = iscdesk_verify_device_license(lic, key, dev, NULL, &msg);
	CHECK(rc == ISCDESK_E_LICENSE_SIGNATURE || rc == ISCDESK_E_LICENSE_MALFORMED, "verify a tampered license: %d %s", rc, msg ? msg : "");
	iscdesk_free(msg);
	msg = NULL;
	CHECK(iscdesk_verify_device_license(lic, "not a key", dev, NULL, NULL) == ISCDESK_E_INVALID, "verify with a bad key");
	iscdesk_free(lic);
	lic = NULL;
	expect_ok(h, iscdesk_license_verify_notify(h, 1, ""), "license_verify_notify");

	expect_ok(h, iscdesk_get_license_file_request(h, "ctest.lic", dev, &rid), "get_license_file_request");
	e = wait_event(ISCDESK_EVENT_LICENSE_VERIFY, rid);
	CHECK(e && param_is(e, "Status", "success") && param_is(e, "LicenseType", "file"), "LicenseVerify (file): %s", e ? e : "none");
	iscdesk_free(rid);
	rid = NULL;
	expect_ok(h, iscdesk_get_license_file(h, "ctest.lic", dev, TIMEOUT, &s), "get_license_file");
	CHECK(s && strstr(s, "ctest.lic") != NULL, "license file path: %s", s ? s : "NULL");
	printf("licensefile %s\n", s ? s : "");
	iscdesk_free(s);
	s = NULL;

	/* Versions and upgrade. */
	expect_ok(h, iscdesk_check_new_versions_request(h, &rid), "check_new_versions_request");
	e = wait_event(ISCDESK_EVENT_UPGRADE_NOTICE, rid);
	CHECK(e && param_is(e, "available", "true") && param_is(e, "version", "2.0.0"), "UpgradeNotice: %s", e ? e : "none");
	iscdesk_free(rid);
	rid = NULL;
	expect_ok(h, iscdesk_check_new_versions(h, TIMEOUT, &ev), "check_new_versions");
	CHECK(ev && param_is(ev, "available", "true"), "check_new_versions event: %s", ev ? ev : "NULL");
	if (ev) received(ISCDESK_EVENT_UPGRADE_NOTICE, ev);
	iscdesk_free(ev);
	ev = NULL;
	expect_ok(h, iscdesk_upgrade_notify(h, 1, &rid), "upgrade_notify");
	e = wait_event(ISCDESK_EVENT_UPDATE, rid);
	CHECK(e && param_is(e, "fromForceWin", "false"), "Update: %s", e ? e : "none");
	iscdesk_free(rid);
	rid = NULL;

	/* Save: the events, then the waiting form; a failing save. */
	expect_ok(h, iscdesk_save_request(h, part, 0, &rid), "save_request");
	e = wait_event(ISCDESK_EVENT_SAVE_RESULT, rid);
	CHECK(e && param_is(e, "status", "success") && param_is(e, "name", "part.prt"), "SaveResult: %s", e ? e : "none");
	CHECK(wait_event(ISCDESK_EVENT_UPLOAD_START, rid) != NULL, "no UploadStart");
	e = wait_event(ISCDESK_EVENT_UPLOAD_END, rid);
	CHECK(e && param_is(e, "status", "success"), "UploadEnd: %s", e ? e : "none");
	iscdesk_free(rid);
	rid = NULL;
	expect_ok(h, iscdesk_save(h, part, 0, TIMEOUT, &ev), "save");
	CHECK(ev && param_is(ev, "operate", "SaveResult") && param_is(ev, "status", "success"), "save event: %s", ev ? ev : "NULL");
	if (ev) received(ISCDESK_EVENT_SAVE_RESULT, ev);
	iscdesk_free(ev);
	ev = NULL;
	rc = iscdesk_save(h, missing, 0, TIMEOUT, &ev);
	CHECK(rc == ISCDESK_E_FAILED && ev && param_is(ev, "status", "failed") && param_is(ev, "kind", "not_exist"),
		"failing save: %d %s", rc, ev ? ev : "NULL");
	printf("failedsave %s\n", ev ? ev : "");
	if (ev) received(ISCDESK_EVENT_SAVE_RESULT, ev);
	iscdesk_free(ev);
	ev = NULL;
	s = last_error(h);
	CHECK(s && strstr(s, "SaveResult failed") != NULL, "failing save's last error: %s", s ? s : "NULL");
	iscdesk_free(s);
	s = NULL;
	rc = iscdesk_save_request(h, "relative.prt", 0, &rid);
	CHECK(rc == ISCDESK_E_INVALID && rid == NULL, "save of a relative path: %d", rc);

	/* Open: the agent answers with the cloud drive's part.prt. */
	expect_ok(h, iscdesk_open_cloud_file_request(h, &rid), "open_cloud_file_request");
	e = wait_event(ISCDESK_EVENT_OPEN_FILE, rid);
	CHECK(e && param_is(e, "openType", "OpenOnly") && param_is(e, "workState", "CHECKIN") && param_is(e, "assembly", "false"),
		"OpenFile: %s", e ? e : "none");
	iscdesk_free(rid);
	rid = NULL;
	expect_ok(h, iscdesk_open_cloud_file(h, TIMEOUT, &ev), "open_cloud_file");
	s = ev ? param(ev, "mainFile") : NULL;
	CHECK(s && strstr(s, "part.prt") != NULL, "open_cloud_file mainFile: %s", s ? s : "NULL");
	iscdesk_free(s);
	iscdesk_free(ev);
	s = ev = NULL;

	/* Save as: the agent without a window takes the suggestion; an
	 * assembly's path is its main file in the assembly's folder; a hostile
	 * suggestion is refused. */
	expect_ok(h, iscdesk_select_save_as_path_request(h, "part-v2.prt", 0, &rid), "select_save_as_path_request");
	e = wait_event(ISCDESK_EVENT_SAVE_AS_PATH, rid);
	CHECK(e && param_is(e, "fileName", "part-v2.prt") && param_is(e, "name", "part-v2.prt") && param_is(e, "assembly", "false"),
		"SaveAsPath: %s", e ? e : "none");
	s = e ? param(e, "savePath") : NULL;
	CHECK(s && strlen(s) > strlen(SEP "part-v2.prt") && strcmp(s + strlen(s) - strlen(SEP "part-v2.prt"), SEP "part-v2.prt") == 0,
		"SaveAsPath savePath: %s", s ? s : "NULL");
	iscdesk_free(s);
	iscdesk_free(rid);
	s = rid = NULL;
	expect_ok(h, iscdesk_select_save_as_path(h, "gear.asm", 1, TIMEOUT, &ev), "select_save_as_path");
	CHECK(ev && param_is(ev, "operate", "SaveAsPath") && param_is(ev, "name", "gear") && param_is(ev, "assembly", "true"),
		"select_save_as_path event: %s", ev ? ev : "NULL");
	s = ev ? param(ev, "savePath") : NULL;
	CHECK(s && strstr(s, "gear" SEP "gear.asm") != NULL, "select_save_as_path savePath: %s", s ? s : "NULL");
	if (ev) received(ISCDESK_EVENT_SAVE_AS_PATH, ev);
	iscdesk_free(s);
	iscdesk_free(ev);
	s = ev = NULL;
	rc = iscdesk_select_save_as_path(h, ".." SEP "escape.prt", 0, TIMEOUT, &ev);
	CHECK(rc == ISCDESK_E_INVALID && ev == NULL, "save as a hostile name: %d %s", rc, ev ? ev : "NULL");
	s = last_error(h);
	CHECK(s && strstr(s, "fileName") != NULL, "hostile save-as name's last error: %s", s ? s : "NULL");
	iscdesk_free(s);
	s = NULL;
	rc = iscdesk_select_save_as_path_request(h, NULL, 0, &rid);
	CHECK(rc == ISCDESK_E_INVALID && rid == NULL, "save as without a name: %d", rc);

	/* Solve: one that works, one that fails. */
	expect_ok(h, iscdesk_get_solution_request(h, part, &rid), "get_solution_request");
	e = wait_event(ISCDESK_EVENT_SOLUTION_RESULT, rid);
	CHECK(e && param_is(e, "status", "success") && param_is(e, "exitCode", "0"), "SolutionResult: %s", e ? e : "none");
	iscdesk_free(rid);
	rid = NULL;
	rc = iscdesk_get_solution(h, bad, TIMEOUT, &ev);
	CHECK(rc == ISCDESK_E_FAILED && ev && param_is(ev, "status", "failed") && param_is(ev, "exitCode", "3"),
		"failing solve: %d %s", rc, ev ? ev : "NULL");
	printf("failedsolve %s\n", ev ? ev : "");
	if (ev) received(ISCDESK_EVENT_SOLUTION_RESULT, ev);
	iscdesk_free(ev);
	ev = NULL;

	/* Two threads at once on one handle. */
	w1.h = w2.h = h;
	w1.path = w2.path = part;
	CHECK(thread_create(&t1, work, &w1) == 0 && thread_create(&t2, work, &w2) == 0, "threads");
	thread_join(t1);
	thread_join(t2);
	CHECK(w1.rc == ISCDESK_OK && w2.rc == ISCDESK_OK, "two threads: %d %d", w1.rc, w2.rc);
	printf("ok two threads\n");

	/* The agent restarts: the handle reconnects by itself. */
	printf("restart\n");
	fflush(stdout);
	{
		char line[16];
		int waited;
		CHECK(fgets(line, sizeof line, stdin) != NULL, "no answer to restart");
		for (waited = 0; waited < TIMEOUT; waited += 100) {
			rc = iscdesk_save(h, part, 0, TIMEOUT, &ev);
			iscdesk_free(ev);
			ev = NULL;
			if (rc != ISCDESK_E_DISCONNECTED) break;
			sleep_ms(100);
		}
		expect_ok(h, rc, "save after the agent restarted");
	}

	/* ShutOut from inside a callback returns its error; from outside it works. */
	h2 = iscdesk_create("ctest", "1.0.0", socket);
	in.h = h2;
	in.called = 0;
	in.rc = 0;
	in.wait_rc = -100;
	in.err = NULL;
	mutex_init(&in.mu);
	expect_ok(h2, iscdesk_register_event_recall(h2, shut_out_inside, &in), "register on the second handle");
	expect_ok(h2, iscdesk_init(h2, TIMEOUT), "init the second handle");
	expect_ok(h2, iscdesk_save(h2, part, 0, TIMEOUT, &ev), "save on the second handle");
	iscdesk_free(ev);
	ev = NULL;
	mutex_lock(&in.mu);
	CHECK(in.called && in.rc == ISCDESK_E_IN_CALLBACK && in.err && strstr(in.err, "inside") != NULL,
		"shut_out inside the callback: called %d rc %d err %s", in.called, in.rc, in.err ? in.err : "NULL");
	iscdesk_free(in.err);
	mutex_unlock(&in.mu);
	CHECK(in.wait_rc == ISCDESK_OK, "a waiting call inside the callback: %d", in.wait_rc);
	printf("ok shut_out inside the callback: ISCDESK_E_IN_CALLBACK; a waiting call there: ok\n");
	expect_ok(h2, iscdesk_save(h2, part, 0, TIMEOUT, &ev), "the second handle still works");
	iscdesk_free(ev);
	ev = NULL;
	expect_ok(h2, iscdesk_shut_out(h2), "shut_out the second handle");
	CHECK(iscdesk_save(h2, part, 0, TIMEOUT, &ev) == ISCDESK_E_INVALID, "a call on a shut-out handle");

	/* iscdesk_event_param on what is not an event. */
	CHECK(iscdesk_event_param("{}", "status", &s) == ISCDESK_E_INVALID && s == NULL, "event_param({})");
	CHECK(iscdesk_event_param("{\"operate\":\"X\",\"params\":{}}", "status", &s) == ISCDESK_E_NOT_FOUND, "event_param: absent key");

	expect_ok(h, iscdesk_shut_out(h), "shut_out");
	mutex_lock(&events.mu);
	CHECK(calls > 0 && calls == events.n, "callback calls %d, events %d", calls, events.n);
	{
		int i;
		for (i = 0; i < events.n; i++) free(events.json[i]);
	}
	mutex_unlock(&events.mu);
	if (getenv("CTEST_VALGRIND") == NULL) iscdesk_free(dev); else free(dev);
#ifdef CTEST_LEAK /* the leaks TestCProgramUnderValgrind must see: 7 strings of the library lost */
	{
		int i;
		for (i = 0; i < 8; i++) iscdesk_event_param("{\"operate\":\"X\",\"params\":{\"k\":\"a leaked value\"}}", "k", &s);
		iscdesk_free(s);
	}
#endif
	if (failures) {
		printf("FAILED: %d checks\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
