/* The writer of the cross-language test (tests/cross/run.sh): many processes, one store. It opens the
 * Redis store named on its command line, waits until the Go and Node readers have announced themselves
 * ("ready-go", "ready-node"), writes 200 sessions "c-0".."c-199", appends 100 runs one by one to
 * "shared" while the readers are reading it, upserts "done", and finally checks the sessions the
 * readers wrote back ("from-go", "from-node"). Any failure prints the status and the library's message
 * and exits non-zero.
 *
 * Usage: writer REDIS_URL NAMESPACE */
#define _POSIX_C_SOURCE 200809L

#include "sessionstore.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    SESSIONS = 200,
    USERS = 7,
    RUNS = 100,
    /* How long the writer waits for a reader's session before it gives up. */
    WAIT_MS = 30000,
};

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("writer: FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* Fails unless st is SS_STATUS_OK, naming the call, the status and the library's message. */
static void check(ss_status st, char *err, const char *what) {
    if (st != SS_STATUS_OK) {
        fail("%s: status %u (%s): %s", what, (unsigned)st, ss_status_str(st), err ? err : "(no message)");
    }
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void upsert(ss_store *store, const char *json) {
    char *err = NULL;
    char what[64];
    snprintf(what, sizeof what, "ss_upsert(%.40s)", json);
    check(ss_upsert(store, json, strlen(json), NULL, NULL, &err), err, what);
}

/* Polls until session `id` exists and returns its JSON (free it with ss_string_free()); fails after
 * WAIT_MS. A NOT_FOUND meanwhile is expected: the other process has not written it yet. */
static char *wait_for(const ss_store *store, const char *id, const char *who) {
    int64_t deadline = now_ms() + WAIT_MS;
    for (;;) {
        char *json = NULL, *err = NULL;
        ss_status st = ss_read(store, id, NULL, &json, NULL, &err);
        if (st == SS_STATUS_OK) {
            return json;
        }
        if (st != SS_STATUS_NOT_FOUND) {
            char what[64];
            snprintf(what, sizeof what, "ss_read(%s)", id);
            check(st, err, what);
        }
        if (now_ms() > deadline) {
            fail("session \"%s\" did not appear within %d s: the %s did not get that far (see its output)", id,
                 WAIT_MS / 1000, who);
        }
        sleep_ms(5);
    }
}

/* The integer of `"key":` in a session a reader wrote. C has no JSON parser of its own; the readers
 * write these sessions with Go's and Node's compact encoders, and the store keeps the input's bytes,
 * so a search for the member is enough. Fails when the member is missing or not an integer. */
static long member_int(const char *json, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(json, pattern);
    if (at == NULL) {
        fail("no %s in %s", pattern, json);
    }
    const char *digits = at + strlen(pattern);
    char *end = NULL;
    errno = 0;
    long value = strtol(digits, &end, 10);
    if (end == digits || errno != 0 || (*end != '}' && *end != ',')) {
        fail("%s is not an integer in %s", pattern, json);
    }
    return value;
}

/* Checks the session a reader wrote after its checks passed: its id, and a number of versions of
 * "shared" it saw that is possible (the upsert that created "shared" and its 100 appends are 101
 * versions). Returns that number. */
static long check_reader_session(const ss_store *store, const char *id, const char *who) {
    char *json = wait_for(store, id, who);
    char want_id[64];
    snprintf(want_id, sizeof want_id, "\"session_id\":\"%s\"", id);
    if (strstr(json, want_id) == NULL || strstr(json, "\"agent_id\":\"a1\"") == NULL) {
        fail("session %s is not what the %s wrote: %s", id, who, json);
    }
    long seen = member_int(json, "seen_versions");
    if (seen < 1 || seen > RUNS + 1) {
        fail("%s: seen_versions %ld is outside 1..%d: %s", id, seen, RUNS + 1, json);
    }
    ss_string_free(json);
    return seen;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s REDIS_URL NAMESPACE\n", argv[0]);
        return 2;
    }
    const char *url = argv[1], *ns = argv[2];
    /* The config is built by hand: refuse what would need escaping rather than escape it. */
    if (strpbrk(url, "\"\\") != NULL || strpbrk(ns, "\"\\") != NULL) {
        fail("the url and namespace must not contain quotes or backslashes");
    }
    if (strcmp(ss_version(), SS_VERSION_STRING) != 0) {
        fail("library %s, header %s: rebuild (make lib)", ss_version(), SS_VERSION_STRING);
    }

    char config[512];
    int n = snprintf(config, sizeof config, "{\"backend\":\"redis\",\"url\":\"%s\",\"namespace\":\"%s\"}", url, ns);
    if (n < 0 || (size_t)n >= sizeof config) {
        fail("url and namespace too long");
    }
    ss_store *store = NULL;
    char *err = NULL;
    check(ss_store_open(config, (size_t)n, &store, &err), err, "ss_store_open");

    /* Everything below happens while both readers are reading, which is the point of the test. */
    int64_t start = now_ms();
    ss_string_free(wait_for(store, "ready-go", "Go reader"));
    ss_string_free(wait_for(store, "ready-node", "Node reader"));
    int64_t readers_ready = now_ms();

    for (int i = 0; i < SESSIONS; i++) {
        char json[128];
        snprintf(json, sizeof json,
                 "{\"session_id\":\"c-%d\",\"user_id\":\"u-%d\",\"agent_id\":\"a1\",\"session_data\":{\"n\":%d}}", i,
                 i % USERS, i);
        upsert(store, json);
    }

    /* One append per run, with a pause between them, so that the readers see "shared" grow through
     * intermediate versions rather than only its first and last states. */
    upsert(store, "{\"session_id\":\"shared\",\"agent_id\":\"a1\"}");
    for (int i = 0; i < RUNS; i++) {
        char runs[32];
        int len = snprintf(runs, sizeof runs, "[{\"i\":%d}]", i);
        char what[48];
        snprintf(what, sizeof what, "ss_append_runs(shared, run %d)", i);
        err = NULL;
        check(ss_append_runs(store, "shared", NULL, runs, (size_t)len, NULL, NULL, &err), err, what);
        sleep_ms(1);
    }
    upsert(store, "{\"session_id\":\"done\",\"agent_id\":\"a1\"}");
    int64_t written = now_ms();

    long go_seen = check_reader_session(store, "from-go", "Go reader");
    long node_seen = check_reader_session(store, "from-node", "Node reader");

    ss_store_close(store);
    printf("writer: ok waited_ms=%" PRId64 " wrote_ms=%" PRId64
           " sessions=%d runs=%d from-go.seen_versions=%ld from-node.seen_versions=%ld\n",
           readers_ready - start, written - readers_ready, SESSIONS, RUNS, go_seen, node_seen);
    return 0;
}
