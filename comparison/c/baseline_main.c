/*
 * The C baseline (baseline.h) as a program, for the bindings whose benchmark runs in another process
 * (Node's bench/bench.js, Python's). It prints JSON lines on stdout; the first is always
 *   {"lang":"c","info":true,"cpu":"<lscpu Model name>","loadavg":"0.52 0.61 0.70","fingerprint":"89abcdef",
 *    "sessions":10000,"session_bytes":1024,"seq_len":65536}
 * where fingerprint is ssb_fingerprint() of the workload (a program that rebuilds the workload checks it).
 *
 *   baseline_main [OPS] [--reps N] [--ops LIST]
 *       C alone: for each op of LIST (default read,read_buf,upsert,get_recent_sessions) a warm-up round, then
 *       N rounds (default 7, at least 5); one line per op, the median round and the spread:
 *         {"lang":"c","op":"read","ns_per_op":80.1,"min_ns":79.0,"max_ns":84.2,"reps":7,"ops":200000}
 *       OPS is the calls per read round (default 200000); upsert rounds make OPS/4 calls, recent ones OPS/2.
 *   baseline_main --serve
 *       For a benchmark that alternates its binding with C: loads the store, prints the info line with
 *       "ready":true, then reads commands on stdin, one per line, and answers each with one line:
 *         <op> <calls>          one timed round  -> {"lang":"c","op":"read","ns_per_op":80.1,"ops":100000}
 *         quit (or EOF)         exits 0
 *       A failed call or a bad command prints {"lang":"c","error":"..."} and exits 1.
 *   baseline_main --info        the info line only.
 */
#include "baseline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void info_line(const ssb_workload *w, int ready) {
    char cpu[256], load[64];
    ssb_cpu_model(cpu, sizeof cpu);
    ssb_loadavg(load, sizeof load);
    printf("{\"lang\":\"c\",\"info\":true,%s\"cpu\":\"%s\",\"loadavg\":\"%s\",\"fingerprint\":\"%08x\","
           "\"sessions\":%d,\"session_bytes\":%d,\"seq_len\":%d}\n",
           ready ? "\"ready\":true," : "", cpu, load, (unsigned)ssb_fingerprint(w), SSB_SESSIONS, SSB_SESSION_BYTES,
           SSB_SEQ_LEN);
    fflush(stdout);
}

static int fail(const char *msg, const char *what) {
    printf("{\"lang\":\"c\",\"error\":\"%s%s\"}\n", msg, what ? what : "");
    fflush(stdout);
    fprintf(stderr, "baseline_main: %s%s\n", msg, what ? what : "");
    return 1;
}

static int serve(ssb_workload *w) {
    ss_store *store = ssb_store_load(w);
    if (!store) return fail("cannot load the store", NULL);
    info_line(w, 1);
    char line[256];
    int rc = 0;
    while (fgets(line, sizeof line, stdin)) {
        char name[64];
        unsigned long long ops = 0;
        int got = sscanf(line, "%63s %llu", name, &ops);
        if (got < 1) continue;
        if (strcmp(name, "quit") == 0) break;
        ssb_op op = ssb_op_parse(name);
        if (op == SSB_NOPS || got != 2 || ops == 0) {
            rc = fail("bad command: ", name);
            break;
        }
        double ns = ssb_time(op, store, w, (uint64_t)ops);
        if (ns < 0) {
            rc = fail("a call failed in ", name);
            break;
        }
        printf("{\"lang\":\"c\",\"op\":\"%s\",\"ns_per_op\":%.1f,\"ops\":%llu}\n", name, ns, ops);
        fflush(stdout);
    }
    ss_store_close(store);
    return rc;
}

static int alone(ssb_workload *w, long ops_arg, int reps, const char *list) {
    ss_store *store = ssb_store_load(w);
    if (!store) return fail("cannot load the store", NULL);
    info_line(w, 0);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    int rc = 0;
    for (char *name = strtok(buf, ","); name && rc == 0; name = strtok(NULL, ",")) {
        ssb_op op = ssb_op_parse(name);
        if (op == SSB_NOPS) {
            rc = fail("unknown op ", name);
            break;
        }
        uint64_t ops = ssb_default_ops(op);
        if (ops_arg > 0) {
            ops = op == SSB_UPSERT ? (uint64_t)ops_arg / 4 : op == SSB_RECENT ? (uint64_t)ops_arg / 2 : (uint64_t)ops_arg;
            if (ops == 0) ops = 1;
        }
        double ns[64];
        if (ssb_time(op, store, w, ops / 10 + 1) < 0) rc = fail("a call failed in ", name); /* warm-up */
        for (int r = 0; r < reps && rc == 0; r++) {
            ns[r] = ssb_time(op, store, w, ops);
            if (ns[r] < 0) rc = fail("a call failed in ", name);
        }
        if (rc) break;
        double lo, med, hi;
        ssb_spread(ns, (size_t)reps, &lo, &med, &hi);
        printf("{\"lang\":\"c\",\"op\":\"%s\",\"ns_per_op\":%.1f,\"min_ns\":%.1f,\"max_ns\":%.1f,\"reps\":%d,"
               "\"ops\":%llu}\n",
               name, med, lo, hi, reps, (unsigned long long)ops);
        fflush(stdout);
    }
    ss_store_close(store);
    return rc;
}

int main(int argc, char **argv) {
    int mode = 0; /* 0 alone, 1 serve, 2 info */
    long ops = 0;
    int reps = SSB_DEFAULT_REPS;
    const char *list = "read,read_buf,upsert,get_recent_sessions";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--serve")) mode = 1;
        else if (!strcmp(a, "--info")) mode = 2;
        else if (!strcmp(a, "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(a, "--ops") && i + 1 < argc) list = argv[++i];
        else if (a[0] >= '0' && a[0] <= '9') ops = atol(a);
        else {
            fprintf(stderr, "usage: baseline_main [OPS] [--reps N] [--ops LIST] | --serve | --info\n");
            return 2;
        }
    }
    if (reps < SSB_MIN_REPS) reps = SSB_MIN_REPS;
    if (reps > 64) reps = 64;
    ssb_workload *w = ssb_workload_new();
    if (!w) return fail("out of memory", NULL);
    int rc = 0;
    if (mode == 2) info_line(w, 0);
    else if (mode == 1) rc = serve(w);
    else rc = alone(w, ops, reps, list);
    ssb_workload_free(w);
    return rc;
}
