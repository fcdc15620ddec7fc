/*
 * The C drivers' shared harness: the plan of one workload directory (comparison/gen_sessions.py), per-call
 * timing with the timer's own cost subtracted, percentiles, RSS, and the JSON lines every driver prints
 * (the protocol comparison/run.py reads). Header-only; each driver includes it once.
 */
#ifndef SS_BENCH_HARNESS_H
#define SS_BENCH_HARNESS_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char **items;   /* NUL-terminated lines */
    size_t *lens;
    size_t count;
    char *buf;
} lines_t;

typedef struct {
    long n, size;
    lines_t read_ids, users, entities, queries, updates, inserts;
} plan_t;

typedef struct {
    const char *row;
    long n, size;
    double time_cap;     /* seconds per operation */
    size_t max_samples;  /* per small operation */
    size_t big_samples;  /* per export / import */
    double timer_ns;
    double *samples;
    size_t nsamples;
} bench_t;

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die("%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) die("%s: cannot seek", path);
    long size = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    if (!buf) die("out of memory reading %s", path);
    if (size > 0 && fread(buf, 1, (size_t)size, f) != (size_t)size) die("%s: short read", path);
    fclose(f);
    buf[size] = '\0';
    if (len) *len = (size_t)size;
    return buf;
}

static lines_t read_lines(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    lines_t l = {0};
    size_t len;
    l.buf = read_file(path, &len);
    size_t cap = 0;
    for (size_t i = 0; i < len; i++) cap += l.buf[i] == '\n';
    l.items = malloc((cap + 1) * sizeof *l.items);
    l.lens = malloc((cap + 1) * sizeof *l.lens);
    char *p = l.buf, *end = l.buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        *nl = '\0';
        if (nl > p) {
            l.items[l.count] = p;
            l.lens[l.count] = (size_t)(nl - p);
            l.count++;
        }
        p = nl + 1;
    }
    if (l.count == 0) die("%s is empty", path);
    return l;
}

static long meta_number(const char *meta, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *at = strstr(meta, pat);
    if (!at) die("meta.json lacks %s", key);
    at += strlen(pat);
    while (*at && (*at < '0' || *at > '9')) at++;
    return strtol(at, NULL, 10);
}

static plan_t load_plan(const char *dir) {
    plan_t p;
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    char *meta = read_file(path, NULL);
    p.n = meta_number(meta, "sessions");
    p.size = meta_number(meta, "size");
    free(meta);
    p.read_ids = read_lines(dir, "read_ids.txt");
    p.users = read_lines(dir, "users.txt");
    p.entities = read_lines(dir, "entities.txt");
    p.queries = read_lines(dir, "queries.jsonl");
    p.updates = read_lines(dir, "update.jsonl");
    p.inserts = read_lines(dir, "insert.jsonl");
    return p;
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double timer_overhead(void) {
    enum { N = 2001 };
    double d[N];
    for (int i = 0; i < N; i++) {
        uint64_t a = now_ns();
        uint64_t b = now_ns();
        d[i] = (double)(b - a);
    }
    qsort(d, N, sizeof d[0], cmp_double);
    return d[N / 2];
}

static double percentile(const double *sorted, size_t n, double p) {
    if (n == 0) return 0;
    size_t rank = (size_t)(p * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

static long status_kb(const char *path, const char *field) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[256];
    long v = 0;
    size_t flen = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, flen) == 0) {
            v = strtol(line + flen, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static void bench_init(bench_t *b, const char *row, const plan_t *p) {
    b->row = row;
    b->n = p->n;
    b->size = p->size;
    b->timer_ns = timer_overhead();
    size_t cap = b->max_samples > 64 ? b->max_samples : 64;
    b->samples = malloc(cap * sizeof *b->samples);
}

/* Starts a measurement: returns the time samples are counted from. */
static inline void bench_sample(bench_t *b, uint64_t t0, uint64_t t1) {
    double d = (double)(t1 - t0) - b->timer_ns;
    b->samples[b->nsamples++] = d > 0 ? d : 0;
}

static void bench_emit(bench_t *b, const char *op, const char *extra) {
    qsort(b->samples, b->nsamples, sizeof(double), cmp_double);
    double sum = 0;
    for (size_t i = 0; i < b->nsamples; i++) sum += b->samples[i];
    printf("{\"row\":\"%s\",\"n\":%ld,\"size\":%ld,\"op\":\"%s\",\"median_ns\":%.1f,\"p99_ns\":%.1f,"
           "\"mean_ns\":%.1f,\"samples\":%zu,\"timer_ns\":%.1f%s}\n",
           b->row, b->n, b->size, op, percentile(b->samples, b->nsamples, 0.5),
           percentile(b->samples, b->nsamples, 0.99), b->nsamples ? sum / (double)b->nsamples : 0,
           b->nsamples, b->timer_ns, extra ? extra : "");
    fflush(stdout);
    b->nsamples = 0;
}

/* Runs the body (the variadic arguments) with index i until max samples or the time cap. */
#define BENCH_LOOP(b, max_calls, warmup, ...)                                              \
    do {                                                                                   \
        size_t max_ = (max_calls) < (b)->max_samples ? (max_calls) : (b)->max_samples;     \
        if (max_ < 1) max_ = 1;                                                            \
        size_t warm_ = (warmup);                                                           \
        for (size_t i = 0; i < warm_ && i < max_; i++) { __VA_ARGS__; }                         \
        uint64_t start_ = now_ns();                                                        \
        for (size_t i = 0; i < max_; i++) {                                                \
            uint64_t t0_ = now_ns();                                                       \
            __VA_ARGS__;                                                                   \
            uint64_t t1_ = now_ns();                                                       \
            bench_sample((b), t0_, t1_);                                                   \
            if ((double)(t1_ - start_) > (b)->time_cap * 1e9) break;                       \
        }                                                                                  \
    } while (0)

/* For export/import: at most big_samples calls of the body; AFTER (a statement without a top-level comma)
 * runs after each call's time is taken. */
#define BENCH_BIG(b, AFTER, ...)                                                           \
    do {                                                                                   \
        size_t max_ = (b)->big_samples < 1 ? 1 : (b)->big_samples;                         \
        uint64_t start_ = now_ns();                                                        \
        for (size_t i = 0; i < max_; i++) {                                                \
            uint64_t t0_ = now_ns();                                                       \
            __VA_ARGS__;                                                                   \
            uint64_t t1_ = now_ns();                                                       \
            AFTER;                                                                         \
            bench_sample((b), t0_, t1_);                                                   \
            if ((double)(now_ns() - start_) > (b)->time_cap * 1e9) break;                  \
        }                                                                                  \
    } while (0)

typedef struct {
    const char *data;
    const char *ops;
    const char *row;
    double time_cap;
    size_t max_samples;
    size_t big_samples;
    double threads_s; /* > 0: also measure thread scaling for this many seconds per run */
    double deadline_s; /* > 0: give up (print a timeout line, exit 0) when an export/import call runs longer */
    const char *redis_host;
    int redis_port;
    long redis_pid; /* > 0: the redis-server process whose RSS is the store's memory (ss_driver --row ss-redis) */
} args_t;

static args_t parse_args(int argc, char **argv, const char *default_row) {
    args_t a = {NULL, "read,recent,ids,query,select,update,insert,export,import", default_row, 1.0, 20000, 5, 0,
                0, "127.0.0.1", 0, 0};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (i + 1 >= argc) die("%s needs a value", k);
        const char *v = argv[++i];
        if (!strcmp(k, "--data")) a.data = v;
        else if (!strcmp(k, "--ops")) a.ops = v;
        else if (!strcmp(k, "--row")) a.row = v;
        else if (!strcmp(k, "--time-cap")) a.time_cap = atof(v);
        else if (!strcmp(k, "--max-samples")) a.max_samples = (size_t)atol(v);
        else if (!strcmp(k, "--big-samples")) a.big_samples = (size_t)atol(v);
        else if (!strcmp(k, "--threads")) a.threads_s = atof(v);
        else if (!strcmp(k, "--deadline")) a.deadline_s = atof(v);
        else if (!strcmp(k, "--redis-host")) a.redis_host = v;
        else if (!strcmp(k, "--redis-port")) a.redis_port = atoi(v);
        else if (!strcmp(k, "--redis-pid")) a.redis_pid = atol(v);
        else die("unknown argument %s", k);
    }
    if (!a.data) die("--data DIR is required");
    return a;
}

/* A watchdog for the whole-store operations, which can take very long on a slow row. */
#include <signal.h>
#include <unistd.h>
static char deadline_line[512];
static void deadline_hit(int sig) {
    (void)sig;
    ssize_t w = write(1, deadline_line, strlen(deadline_line));
    (void)w;
    _exit(0);
}
static inline void deadline_arm(const bench_t *b, const char *op, double seconds) {
    if (seconds <= 0) return;
    fflush(stdout);
    snprintf(deadline_line, sizeof deadline_line,
             "{\"row\":\"%s\",\"n\":%ld,\"size\":%ld,\"op\":\"%s\",\"timeout_s\":%.0f}\n", b->row, b->n,
             b->size, op, seconds);
    signal(SIGALRM, deadline_hit);
    alarm((unsigned)(seconds + 0.5));
}
static inline void deadline_disarm(void) { alarm(0); }

/* Iterates over the comma-separated ops: `for (const char *op = first_op(...); op; op = next_op(...))`. */
static inline int has_op(const char *ops, const char *op) {
    size_t n = strlen(op);
    for (const char *p = ops; (p = strstr(p, op)); p += n) {
        if ((p == ops || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
    }
    return 0;
}

static inline size_t count_substr(const char *hay, size_t len, const char *needle) {
    size_t n = 0, nl = strlen(needle);
    const char *p = hay, *end = hay + len;
    while (p < end && (p = memmem(p, (size_t)(end - p), needle, nl))) {
        n++;
        p += nl;
    }
    return n;
}

static inline long total_of(const char *query_output) {
    const char *at = strstr(query_output, "\"total\":");
    const char *last = at;
    while (at) {
        last = at;
        at = strstr(at + 1, "\"total\":");
    }
    return last ? strtol(last + 8, NULL, 10) : -1;
}

/* Streams sessions.jsonl one line at a time into `load(line, len, ctx)`; returns the JSON bytes. */
static size_t stream_sessions(const char *dir, size_t *count, void (*load)(const char *, size_t, void *), void *ctx) {
    char path[4096];
    snprintf(path, sizeof path, "%s/sessions.jsonl", dir);
    FILE *f = fopen(path, "rb");
    if (!f) die("%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, bytes = 0;
    ssize_t got;
    *count = 0;
    while ((got = getline(&line, &cap, f)) > 0) {
        size_t len = (size_t)got;
        if (line[len - 1] == '\n') line[--len] = '\0';
        if (len == 0) continue;
        load(line, len, ctx);
        bytes += len;
        (*count)++;
    }
    free(line);
    fclose(f);
    return bytes;
}

static void emit_memory(const char *row, const plan_t *p, size_t sessions, size_t json_bytes, long base_kb,
                        long rss_kb, long hwm_kb, double load_s) {
    printf("{\"row\":\"%s\",\"n\":%ld,\"size\":%ld,\"op\":\"memory\",\"sessions\":%zu,\"json_bytes\":%zu,"
           "\"base_rss\":%ld,\"rss_growth\":%ld,\"peak_growth\":%ld,\"load_s\":%.3f}\n",
           row, p->n, p->size, sessions, json_bytes, base_kb * 1024, (rss_kb - base_kb) * 1024,
           (hwm_kb - base_kb) * 1024, load_s);
    fflush(stdout);
}

#endif
