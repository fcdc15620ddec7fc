/*
 * The C baseline of the bindings' benchmarks: ONE definition of the workload and of the timed C loops
 * that every binding's `make bench` compares itself with (bindings/go/internal/cbench through cgo,
 * bindings/cpp/bench/bench.cpp linked with this header compiled as C, bindings/node/bench/bench.js and
 * bindings/python/bench/bench.py through comparison/c/baseline_main.c, a separate process).
 *
 * The workload: SSB_SESSIONS (10,000) agent sessions of exactly SSB_SESSION_BYTES (1024) bytes of JSON,
 * session i being
 *     {"session_id":"s<i>","user_id":"u<i/10>","agent_id":"a<i%10>",
 *      "session_data":{"session_name":"session <i>"},"memory":{"summary":"mmm...m"}}
 * (one line, the memory summary padding it to 1024 bytes), so SSB_USERS (1,000) users of 10 sessions each;
 * and two index sequences of SSB_SEQ_LEN (65,536) entries from xorshift64 (shifts 13, 7, 17; seed
 * SSB_SEED): for each step x, seq_session[j] = x % SSB_SESSIONS and seq_user[j] = (x >> 20) % SSB_USERS.
 * Call k of a round (k = 0, 1, ...; every round starts at 0) uses entry j = k % SSB_SEQ_LEN:
 *     read                 ss_read(store, id[seq_session[j]], NULL, &out, &len, &err), then ss_string_free(out)
 *     read_buf             ss_read_into(store, id[seq_session[j]], NULL, buf, SSB_BUF_CAP, &len, &err): the
 *                          session copied into one caller buffer (no allocation: the "read into a caller buffer")
 *     upsert               ss_upsert(store, json[seq_session[j]], 1024, &out, &len, &err) (the stored JSON
 *                          returned, as every binding returns it), then ss_string_free(out)
 *     get_recent_sessions  ss_get_recent_sessions(store, user[seq_user[j]], NULL, 5, &out, &len, &err),
 *                          then ss_string_free(out)
 * A binding's loop makes the same call on the same sequence, through the binding. A program in another
 * language rebuilds the workload itself and must check ssb_fingerprint() (baseline_main prints it): FNV-1a
 * (32 bits) over, in order, each session's JSON followed by '\n' and its id followed by '\n'; each user id
 * followed by '\n'; then for each j the 4 little-endian bytes of seq_session[j], then those of seq_user[j].
 *
 * The store: a benchmark that runs C in its own process (Go, C++) loads the workload into one store through
 * the binding (default config, sessions upserted in order) and runs the C loops on that store's handle, so
 * that both sides measure the same store: two stores loaded one after the other in one process can differ
 * in read speed by their memory layout alone (5-25% measured here). A separate process (baseline_main, for
 * Node and Python) loads its own the same way (ssb_store_load()), as the binding's process loads its.
 *
 * Use: header-only. By default every function is static (a translation unit that includes it gets its own
 * copy: cgo preambles, baseline_main.c). To link the C loops into a C++ program, compile this header once
 * as C with -DSSB_DEFINE_EXTERN (cc -x c -DSSB_DEFINE_EXTERN -c baseline.h) and include it in C++ with
 * -DSSB_DECLARATIONS_ONLY (prototypes with C linkage). Needs POSIX (clock_gettime, popen): included first
 * in a C file, it asks for _POSIX_C_SOURCE 200809L itself.
 */
#ifndef SS_BENCH_BASELINE_H
#define SS_BENCH_BASELINE_H

#if !defined(__cplusplus) && !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stddef.h>
#include <stdint.h>

#include "sessionstore.h"

#define SSB_SESSIONS 10000
#define SSB_USERS (SSB_SESSIONS / 10)
#define SSB_AGENTS 10
#define SSB_SESSION_BYTES 1024
#define SSB_SEQ_LEN 65536 /* a power of two */
#define SSB_RECENT_LIMIT 5
#define SSB_SEED 0x9E3779B97F4A7C15ull
#define SSB_MIN_REPS 5     /* the fewest alternating repetitions a binding's bench may report */
#define SSB_DEFAULT_REPS 7
#define SSB_BUF_CAP 4096   /* read_buf's caller buffer; a stored session is about 1.1 KiB */

typedef enum { SSB_READ = 0, SSB_READ_BUF, SSB_UPSERT, SSB_RECENT, SSB_NOPS } ssb_op;

typedef struct {
    char *json[SSB_SESSIONS]; /* session i's JSON, SSB_SESSION_BYTES bytes, NUL-terminated */
    size_t json_len[SSB_SESSIONS];
    char id[SSB_SESSIONS][16];
    char user[SSB_USERS][16];
    uint32_t seq_session[SSB_SEQ_LEN];
    uint32_t seq_user[SSB_SEQ_LEN];
    char *buf; /* read_buf: the caller's buffer, SSB_BUF_CAP bytes */
    int buf_overflow;
    volatile size_t sink; /* the loops add each result's length here */
} ssb_workload;

#if defined(SSB_DECLARATIONS_ONLY)
#define SSB_FN
#elif defined(SSB_DEFINE_EXTERN)
#define SSB_FN
#elif defined(__GNUC__)
#define SSB_FN static __attribute__((unused))
#else
#define SSB_FN static
#endif

#if defined(__GNUC__)
#define SSB_HELPER static __attribute__((unused))
#else
#define SSB_HELPER static
#endif

#if defined(__cplusplus)
extern "C" {
#endif

/* The workload (NULL when out of memory); free with ssb_workload_free. */
SSB_FN ssb_workload *ssb_workload_new(void);
SSB_FN void ssb_workload_free(ssb_workload *w);
SSB_FN uint32_t ssb_fingerprint(const ssb_workload *w);
/* A store of the default config holding the workload's sessions; NULL (message on stderr) on failure. */
SSB_FN ss_store *ssb_store_load(const ssb_workload *w);
/* "read", "read_buf", "upsert", "get_recent_sessions"; ssb_op_parse returns SSB_NOPS for an unknown name. */
SSB_FN const char *ssb_op_name(ssb_op op);
SSB_FN ssb_op ssb_op_parse(const char *name);
/* Calls per round when none is given: about 50-100 ms of C on a current x86-64 core. */
SSB_FN uint64_t ssb_default_ops(ssb_op op);
/* One round: calls 0 .. ops-1 of op (see above), untimed; returns how many calls failed (0 expected). */
SSB_FN int64_t ssb_run(ssb_op op, ss_store *store, ssb_workload *w, uint64_t ops);
/* One timed round: ns per call, or a negative number when a call failed. */
SSB_FN double ssb_time(ssb_op op, ss_store *store, ssb_workload *w, uint64_t ops);
SSB_FN double ssb_now_ns(void);
/* min, median (mean of the middle two for even n) and max of n values (n >= 1); xs is left unchanged. */
SSB_FN void ssb_spread(const double *xs, size_t n, double *min, double *median, double *max);
/* lscpu's "Model name" (else /proc/cpuinfo's "model name", else "unknown"); the first three numbers of
 * /proc/loadavg (else "unknown"). */
SSB_FN void ssb_cpu_model(char *buf, size_t cap);
SSB_FN void ssb_loadavg(char *buf, size_t cap);

#if defined(__cplusplus)
}
#endif

#if !defined(SSB_DECLARATIONS_ONLY)

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

SSB_FN ssb_workload *ssb_workload_new(void) {
    ssb_workload *w = (ssb_workload *)calloc(1, sizeof *w);
    if (!w) return NULL;
    w->buf = (char *)malloc(SSB_BUF_CAP);
    if (!w->buf) {
        free(w);
        return NULL;
    }
    static const char tail[] = "\"}}";
    for (int i = 0; i < SSB_SESSIONS; i++) {
        char head[160];
        int n = snprintf(head, sizeof head,
                         "{\"session_id\":\"s%d\",\"user_id\":\"u%d\",\"agent_id\":\"a%d\","
                         "\"session_data\":{\"session_name\":\"session %d\"},\"memory\":{\"summary\":\"",
                         i, i / 10, i % SSB_AGENTS, i);
        size_t pad = SSB_SESSION_BYTES - (size_t)n - (sizeof tail - 1);
        char *s = (char *)malloc(SSB_SESSION_BYTES + 1);
        if (!s) {
            ssb_workload_free(w);
            return NULL;
        }
        memcpy(s, head, (size_t)n);
        memset(s + n, 'm', pad);
        memcpy(s + (size_t)n + pad, tail, sizeof tail); /* with the NUL */
        w->json[i] = s;
        w->json_len[i] = SSB_SESSION_BYTES;
        snprintf(w->id[i], sizeof w->id[i], "s%d", i);
    }
    for (int u = 0; u < SSB_USERS; u++) snprintf(w->user[u], sizeof w->user[u], "u%d", u);
    uint64_t x = SSB_SEED;
    for (int j = 0; j < SSB_SEQ_LEN; j++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w->seq_session[j] = (uint32_t)(x % SSB_SESSIONS);
        w->seq_user[j] = (uint32_t)((x >> 20) % SSB_USERS);
    }
    return w;
}

SSB_FN void ssb_workload_free(ssb_workload *w) {
    if (!w) return;
    for (int i = 0; i < SSB_SESSIONS; i++) free(w->json[i]);
    free(w->buf);
    free(w);
}

SSB_HELPER uint32_t ssb_fnv(uint32_t h, const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

SSB_FN uint32_t ssb_fingerprint(const ssb_workload *w) {
    uint32_t h = 2166136261u;
    for (int i = 0; i < SSB_SESSIONS; i++) {
        h = ssb_fnv(h, w->json[i], w->json_len[i]);
        h = ssb_fnv(h, "\n", 1);
        h = ssb_fnv(h, w->id[i], strlen(w->id[i]));
        h = ssb_fnv(h, "\n", 1);
    }
    for (int u = 0; u < SSB_USERS; u++) {
        h = ssb_fnv(h, w->user[u], strlen(w->user[u]));
        h = ssb_fnv(h, "\n", 1);
    }
    for (int j = 0; j < SSB_SEQ_LEN; j++) {
        uint32_t v[2] = {w->seq_session[j], w->seq_user[j]};
        for (int k = 0; k < 2; k++) {
            unsigned char le[4] = {(unsigned char)v[k], (unsigned char)(v[k] >> 8), (unsigned char)(v[k] >> 16),
                                   (unsigned char)(v[k] >> 24)};
            h = ssb_fnv(h, le, 4);
        }
    }
    return h;
}

SSB_FN ss_store *ssb_store_load(const ssb_workload *w) {
    ss_store *store = NULL;
    char *err = NULL;
    ss_status st = ss_store_open(NULL, 0, &store, &err);
    if (st != SS_STATUS_OK) {
        fprintf(stderr, "baseline: ss_store_open: %s: %s\n", ss_status_str(st), err ? err : "");
        ss_string_free(err);
        return NULL;
    }
    for (int i = 0; i < SSB_SESSIONS; i++) {
        st = ss_upsert(store, w->json[i], w->json_len[i], NULL, NULL, &err);
        if (st != SS_STATUS_OK) {
            fprintf(stderr, "baseline: loading session %d: %s: %s\n", i, ss_status_str(st), err ? err : "");
            ss_string_free(err);
            ss_store_close(store);
            return NULL;
        }
    }
    return store;
}

SSB_FN const char *ssb_op_name(ssb_op op) {
    switch (op) {
    case SSB_READ: return "read";
    case SSB_READ_BUF: return "read_buf";
    case SSB_UPSERT: return "upsert";
    case SSB_RECENT: return "get_recent_sessions";
    default: return "?";
    }
}

SSB_FN ssb_op ssb_op_parse(const char *name) {
    for (int op = 0; op < SSB_NOPS; op++) {
        if (strcmp(name, ssb_op_name((ssb_op)op)) == 0) return (ssb_op)op;
    }
    return SSB_NOPS;
}

SSB_FN uint64_t ssb_default_ops(ssb_op op) {
    switch (op) {
    case SSB_READ:
    case SSB_READ_BUF: return 200000;
    case SSB_UPSERT: return 50000;
    case SSB_RECENT: return 100000;
    default: return 0;
    }
}

SSB_FN int64_t ssb_run(ssb_op op, ss_store *store, ssb_workload *w, uint64_t ops) {
    const uint64_t mask = SSB_SEQ_LEN - 1;
    int64_t fails = 0;
    char *err = NULL;
    switch (op) {
    case SSB_READ:
        for (uint64_t k = 0; k < ops; k++) {
            char *out = NULL;
            size_t len = 0;
            if (ss_read(store, w->id[w->seq_session[k & mask]], NULL, &out, &len, &err) != SS_STATUS_OK) {
                fails++;
                ss_string_free(err);
                err = NULL;
            }
            w->sink += len;
            ss_string_free(out);
        }
        break;
    case SSB_READ_BUF:
        for (uint64_t k = 0; k < ops; k++) {
            size_t len = 0;
            if (ss_read_into(store, w->id[w->seq_session[k & mask]], NULL, w->buf, SSB_BUF_CAP, &len, &err)
                != SS_STATUS_OK) {
                fails++;
                ss_string_free(err);
                err = NULL;
            }
            if (len > SSB_BUF_CAP) w->buf_overflow = 1;
            w->sink += len;
        }
        if (w->buf_overflow) fails++;
        break;
    case SSB_UPSERT:
        for (uint64_t k = 0; k < ops; k++) {
            uint32_t i = w->seq_session[k & mask];
            char *out = NULL;
            size_t len = 0;
            if (ss_upsert(store, w->json[i], w->json_len[i], &out, &len, &err) != SS_STATUS_OK) {
                fails++;
                ss_string_free(err);
                err = NULL;
            }
            w->sink += len;
            ss_string_free(out);
        }
        break;
    case SSB_RECENT:
        for (uint64_t k = 0; k < ops; k++) {
            char *out = NULL;
            size_t len = 0;
            if (ss_get_recent_sessions(store, w->user[w->seq_user[k & mask]], NULL, SSB_RECENT_LIMIT, &out, &len,
                                       &err) != SS_STATUS_OK) {
                fails++;
                ss_string_free(err);
                err = NULL;
            }
            w->sink += len;
            ss_string_free(out);
        }
        break;
    default:
        return (int64_t)ops;
    }
    return fails;
}

SSB_FN double ssb_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

SSB_FN double ssb_time(ssb_op op, ss_store *store, ssb_workload *w, uint64_t ops) {
    if (ops == 0) return -1;
    double t0 = ssb_now_ns();
    int64_t fails = ssb_run(op, store, w, ops);
    double t1 = ssb_now_ns();
    return fails ? -1 : (t1 - t0) / (double)ops;
}

SSB_HELPER int ssb_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

SSB_FN void ssb_spread(const double *xs, size_t n, double *min, double *median, double *max) {
    double *s = (double *)malloc((n ? n : 1) * sizeof *s);
    if (!s || n == 0) {
        free(s);
        *min = *median = *max = 0;
        return;
    }
    memcpy(s, xs, n * sizeof *s);
    qsort(s, n, sizeof *s, ssb_cmp_double);
    *min = s[0];
    *max = s[n - 1];
    *median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
}

/* The text after "key" and the colon on the first line of f starting with key, trimmed, into buf. */
SSB_HELPER int ssb_field_of(FILE *f, const char *key, char *buf, size_t cap) {
    char line[512];
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) != 0) continue;
        const char *p = strchr(line + klen, ':');
        if (!p) continue;
        p++;
        while (*p == ' ' || *p == '\t') p++;
        size_t n = strcspn(p, "\r\n");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        if (n >= cap) n = cap - 1;
        memcpy(buf, p, n);
        buf[n] = '\0';
        return 1;
    }
    return 0;
}

SSB_FN void ssb_cpu_model(char *buf, size_t cap) {
    if (cap == 0) return;
    int found = 0;
    FILE *f = popen("LC_ALL=C lscpu 2>/dev/null", "r");
    if (f) {
        found = ssb_field_of(f, "Model name", buf, cap);
        pclose(f);
    }
    if (!found && (f = fopen("/proc/cpuinfo", "r")) != NULL) {
        found = ssb_field_of(f, "model name", buf, cap);
        fclose(f);
    }
    if (!found) snprintf(buf, cap, "unknown");
    for (char *p = buf; *p; p++) {
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = ' '; /* safe inside a JSON string */
    }
}

SSB_FN void ssb_loadavg(char *buf, size_t cap) {
    double a = 0, b = 0, c = 0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3) {
        snprintf(buf, cap, "%.2f %.2f %.2f", a, b, c);
    } else {
        snprintf(buf, cap, "unknown");
    }
    if (f) fclose(f);
}

#endif /* !SSB_DECLARATIONS_ONLY */

#endif
