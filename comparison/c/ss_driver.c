/*
 * The "c" row: sessionstore called through its C ABI (libsessionstore.so), on the workload of
 * comparison/gen_sessions.py. Every call's returned string is freed with ss_string_free() inside the timed
 * section (that is the caller's cost), except the text of an export, freed after its time is taken.
 * Upserts pass out_json = NULL (the stored JSON is not wanted back), as the floor does.
 *
 *   ss_driver --data target/bench-data/n10000-s1024 [--ops read,...] [--time-cap 1] [--max-samples N]
 *             [--big-samples 5] [--threads SECONDS] [--row NAME]
 *
 * --deadline S ends the process with a "timeout" line when one export or import call takes longer.
 * --threads S also measures throughput scaling: reads only, then 10% upserts, for S seconds each with
 * one thread and with two threads on the same store handle (best of five alternating runs each).
 *
 * The "ss-redis" row: the same calls on a store of the library's Redis backend,
 *
 *   ss_driver --row ss-redis --redis-port PORT --redis-pid PID [--redis-host 127.0.0.1] --data DIR ...
 *
 * opened with {"backend":"redis","url":"redis://HOST:PORT/0","namespace":"bench-<our pid>"} (plus
 * "command_timeout_ms" above --deadline, so that a long export or import ends as a "timeout" line
 * rather than as a failed call). The sessions are loaded one ss_upsert (one round trip) at a time.
 * Memory is the RSS growth of the redis-server process PID (the one listening on PORT: comparison/run.py
 * started it), as in the "redis" row. Each import goes into a fresh namespace ("bench-<pid>-import-<k>",
 * opened before its time is taken) whose sessions are dropped (ss_drop) after it; the store's own
 * sessions are dropped at the end. Without --redis-port the row is "c" and nothing of this applies.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>

#include "sessionstore.h"

/* Takes &err, read after the call: as a plain argument, err could be read before the call had set it. */
static void check(ss_status st, char **err, const char *what) {
    if (st != SS_STATUS_OK) die("%s: %s: %s", what, ss_status_str(st), *err ? *err : "");
}

/* ---- the ss-redis row: a store on a redis-server ---- */

/* Opens the namespace "bench-<pid><suffix>" on the server of --redis-host/--redis-port. */
static ss_store *open_redis(const args_t *a, const char *suffix) {
    char config[512];
    char timeout[64] = "";
    if (a->deadline_s > 0)
        snprintf(timeout, sizeof timeout, ",\"command_timeout_ms\":%.0f", (a->deadline_s + 30) * 1000);
    int n = snprintf(config, sizeof config,
                     "{\"backend\":\"redis\",\"url\":\"redis://%s:%d/0\",\"namespace\":\"bench-%ld%s\"%s}",
                     a->redis_host, a->redis_port, (long)getpid(), suffix, timeout);
    if (n < 0 || (size_t)n >= sizeof config) die("redis config too long");
    ss_store *store = NULL;
    char *err = NULL;
    check(ss_store_open(config, (size_t)n, &store, &err), &err, "open (redis)");
    return store;
}

/* The fresh namespace the k-th import goes into. */
static ss_store *open_import_target(const args_t *a, unsigned k) {
    char suffix[32];
    snprintf(suffix, sizeof suffix, "-import-%u", k);
    return open_redis(a, suffix);
}

/* Removes the sessions of a Redis store (untimed: the server would otherwise keep every import's) and
 * closes the handle. */
static void drop_and_close(ss_store *store) {
    char *err = NULL;
    size_t removed = 0;
    check(ss_drop(store, &removed, &err), &err, "drop");
    ss_store_close(store);
}

/* Checks that --redis-pid names a running redis-server: its RSS is this row's memory. */
static void check_server_pid(long pid) {
    char path[64], comm[64] = "";
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    FILE *f = pid > 0 ? fopen(path, "r") : NULL;
    if (f) {
        if (!fgets(comm, sizeof comm, f)) comm[0] = '\0';
        fclose(f);
    }
    if (!strstr(comm, "redis")) die("--redis-pid %ld is not a running redis-server (the one on --redis-port)", pid);
}

static void load_one(const char *line, size_t len, void *ctx) {
    char *err = NULL;
    check(ss_upsert((ss_store *)ctx, line, len, NULL, NULL, &err), &err, "load");
}

/* ---- thread scaling ---- */

typedef struct {
    ss_store *store;
    const plan_t *plan;
    int write_every; /* 0: reads only; 10: one upsert in ten calls */
    unsigned seed;
    atomic_int *go, *stop;
    uint64_t ops;
} worker_t;

static void *worker(void *arg) {
    worker_t *w = arg;
    const plan_t *p = w->plan;
    size_t r = w->seed * 7919u, u = w->seed * 104729u;
    uint64_t ops = 0;
    while (!atomic_load_explicit(w->go, memory_order_acquire)) {
    }
    while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
        for (int k = 0; k < 16; k++) {
            if (w->write_every && ops % (uint64_t)w->write_every == 0) {
                size_t i = u++ % p->updates.count;
                char *err = NULL;
                check(ss_upsert(w->store, p->updates.items[i], p->updates.lens[i], NULL, NULL, &err), &err, "upsert");
            } else {
                char *out = NULL, *err = NULL;
                check(ss_read(w->store, p->read_ids.items[r++ % p->read_ids.count], NULL, &out, NULL, &err), &err, "read");
                ss_string_free(out);
            }
            ops++;
        }
    }
    w->ops = ops;
    return NULL;
}

static double throughput_once(ss_store *store, const plan_t *p, int threads, int write_every, double seconds) {
    atomic_int go = 0, stop = 0;
    worker_t w[2];
    pthread_t t[2];
    for (int i = 0; i < threads; i++) {
        w[i] = (worker_t){store, p, write_every, (unsigned)(i + 1), &go, &stop, 0};
        pthread_create(&t[i], NULL, worker, &w[i]);
    }
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    uint64_t t0 = now_ns();
    atomic_store(&go, 1);
    struct timespec run = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&run, NULL);
    atomic_store(&stop, 1);
    uint64_t total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += w[i].ops;
    }
    return (double)total / ((double)(now_ns() - t0) / 1e9);
}

/* One and two threads, the best of five runs each, alternating so that a disturbance lasting a few
 * seconds cannot spoil every run of one of them: interference from other processes only ever lowers a
 * throughput. */
static void throughput(ss_store *store, const plan_t *p, int write_every, double seconds, double *one,
                       double *two) {
    *one = *two = 0;
    for (int k = 0; k < 5; k++) {
        double t1 = throughput_once(store, p, 1, write_every, seconds);
        double t2 = throughput_once(store, p, 2, write_every, seconds);
        if (t1 > *one) *one = t1;
        if (t2 > *two) *two = t2;
    }
}

int main(int argc, char **argv) {
    args_t a = parse_args(argc, argv, NULL);
    int redis = a.redis_port > 0;
    if (!a.row) a.row = redis ? "ss-redis" : "c";
    if (redis) check_server_pid(a.redis_pid);
    plan_t p = load_plan(a.data);
    bench_t b = {0};
    b.time_cap = a.time_cap;
    b.max_samples = a.max_samples;
    b.big_samples = a.big_samples;
    bench_init(&b, a.row, &p);
    char extra[128];

    /* Memory: this process's, or the redis-server's for the ss-redis row. */
    char status[64] = "/proc/self/status";
    if (redis) snprintf(status, sizeof status, "/proc/%ld/status", a.redis_pid);
    long base = status_kb(status, "VmRSS:");
    uint64_t t0 = now_ns();
    ss_store *store = NULL;
    char *err = NULL;
    if (redis)
        store = open_redis(&a, "");
    else
        check(ss_store_open(NULL, 0, &store, &err), &err, "open");
    size_t loaded;
    size_t json_bytes = stream_sessions(a.data, &loaded, load_one, store);
    double load_s = (double)(now_ns() - t0) / 1e9;
    emit_memory(a.row, &p, loaded, json_bytes, base, status_kb(status, "VmRSS:"), status_kb(status, "VmHWM:"),
                load_s);

    if (has_op(a.ops, "read")) {
        char *out = NULL;
        size_t len = 0;
        check(ss_read(store, p.read_ids.items[0], NULL, &out, &len, &err), &err, "read");
        ss_string_free(out);
        snprintf(extra, sizeof extra, ",\"check\":%d", len > 0);
        BENCH_LOOP(&b, (size_t)-1, 200, {
            char *o = NULL;
            ss_read(store, p.read_ids.items[i % p.read_ids.count], NULL, &o, NULL, NULL);
            ss_string_free(o);
        });
        bench_emit(&b, "read", extra);
    }
    if (has_op(a.ops, "recent")) {
        char *out = NULL;
        size_t len = 0;
        check(ss_get_recent_sessions(store, p.users.items[0], NULL, 5, &out, &len, &err), &err, "recent");
        snprintf(extra, sizeof extra, ",\"check\":%zu", count_substr(out, len, "\"session_id\""));
        ss_string_free(out);
        BENCH_LOOP(&b, (size_t)-1, 200, {
            char *o = NULL;
            ss_get_recent_sessions(store, p.users.items[i % p.users.count], NULL, 5, &o, NULL, NULL);
            ss_string_free(o);
        });
        bench_emit(&b, "recent", extra);
    }
    if (has_op(a.ops, "ids")) {
        char *out = NULL;
        size_t len = 0;
        check(ss_get_all_session_ids(store, NULL, p.entities.items[0], &out, &len, &err), &err, "ids");
        snprintf(extra, sizeof extra, ",\"check\":%zu", count_substr(out, len, "\"") / 2);
        ss_string_free(out);
        BENCH_LOOP(&b, (size_t)-1, 3, {
            char *o = NULL;
            ss_get_all_session_ids(store, NULL, p.entities.items[i % p.entities.count], &o, NULL, NULL);
            ss_string_free(o);
        });
        bench_emit(&b, "ids", extra);
    }
    if (has_op(a.ops, "query")) {
        char *out = NULL;
        check(ss_query(store, p.queries.items[0], p.queries.lens[0], &out, NULL, &err), &err, "query");
        snprintf(extra, sizeof extra, ",\"check\":%ld", total_of(out));
        ss_string_free(out);
        BENCH_LOOP(&b, (size_t)-1, 2, {
            char *o = NULL;
            size_t q = i % p.queries.count;
            ss_query(store, p.queries.items[q], p.queries.lens[q], &o, NULL, NULL);
            ss_string_free(o);
        });
        bench_emit(&b, "query", extra);
    }
    if (has_op(a.ops, "select")) {
        /* The same selective name query as ss-bench-rust's: about one session in 20,000. */
        static const char selective[] =
            "{\"session_name\":\"tokyo #123\",\"sort_by\":\"updated_at\",\"sort_order\":\"desc\",\"limit\":20}";
        char *out = NULL;
        check(ss_query(store, selective, sizeof selective - 1, &out, NULL, &err), &err, "select");
        snprintf(extra, sizeof extra, ",\"check\":%ld", total_of(out));
        ss_string_free(out);
        BENCH_LOOP(&b, (size_t)-1, 2, {
            char *o = NULL;
            ss_query(store, selective, sizeof selective - 1, &o, NULL, NULL);
            ss_string_free(o);
        });
        bench_emit(&b, "select", extra);
    }
    if (has_op(a.ops, "update")) {
        BENCH_LOOP(&b, (size_t)-1, 0, {
            size_t u = i % p.updates.count;
            check(ss_upsert(store, p.updates.items[u], p.updates.lens[u], NULL, NULL, &err), &err, "update");
        });
        bench_emit(&b, "update", NULL);
    }
    if (has_op(a.ops, "insert")) {
        BENCH_LOOP(&b, p.inserts.count, 0, {
            check(ss_upsert(store, p.inserts.items[i], p.inserts.lens[i], NULL, NULL, &err), &err, "insert");
        });
        bench_emit(&b, "insert", NULL);
    }
    if (a.threads_s > 0) {
        double r1, r2, m1, m2;
        throughput(store, &p, 0, a.threads_s, &r1, &r2);
        throughput(store, &p, 10, a.threads_s, &m1, &m2);
        printf("{\"row\":\"%s\",\"n\":%ld,\"size\":%ld,\"op\":\"threads\",\"seconds\":%.2f,\"read_1\":%.0f,"
               "\"read_2\":%.0f,\"mixed_1\":%.0f,\"mixed_2\":%.0f}\n",
               a.row, p.n, p.size, a.threads_s, r1, r2, m1, m2);
    }
    char *exported = NULL;
    size_t exported_len = 0;
    if (has_op(a.ops, "export") || has_op(a.ops, "import")) {
        deadline_arm(&b, "export", a.deadline_s);
        check(ss_export(store, &exported, &exported_len, &err), &err, "export");
        deadline_disarm();
    }
    if (has_op(a.ops, "export")) {
        snprintf(extra, sizeof extra, ",\"bytes\":%zu", exported_len);
        char *o = NULL;
        deadline_arm(&b, "export", a.deadline_s);
        BENCH_BIG(&b, { ss_string_free(o); }, { ss_export(store, &o, NULL, NULL); });
        deadline_disarm();
        bench_emit(&b, "export", extra);
    }
    if (has_op(a.ops, "import") && !redis) {
        snprintf(extra, sizeof extra, ",\"bytes\":%zu", exported_len);
        ss_store *fresh = NULL;
        deadline_arm(&b, "import", a.deadline_s);
        BENCH_BIG(&b, { ss_store_close(fresh); }, {
            check(ss_store_open(NULL, 0, &fresh, &err), &err, "open");
            size_t count = 0;
            check(ss_import(fresh, exported, exported_len, &count, &err), &err, "import");
        });
        deadline_disarm();
        bench_emit(&b, "import", extra);
    }
    if (has_op(a.ops, "import") && redis) {
        /* Into a fresh namespace each time, opened (connection, server checks) before the time is taken. */
        snprintf(extra, sizeof extra, ",\"bytes\":%zu", exported_len);
        unsigned k = 0;
        ss_store *fresh = open_import_target(&a, ++k);
        deadline_arm(&b, "import", a.deadline_s);
        BENCH_BIG(&b, { drop_and_close(fresh); fresh = open_import_target(&a, ++k); }, {
            size_t count = 0;
            check(ss_import(fresh, exported, exported_len, &count, &err), &err, "import");
        });
        deadline_disarm();
        bench_emit(&b, "import", extra);
        drop_and_close(fresh);
    }
    ss_string_free(exported);

    if (redis)
        drop_and_close(store);
    else
        ss_store_close(store);
    return 0;
}
