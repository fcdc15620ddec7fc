/* The C side of `make bench`; see bench_c.h. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */

#include "bench_c.h"

#include "bench_common.h"

static void check(ss_status st, char *err) {
  if (st != SS_STATUS_OK) {
    fprintf(stderr, "bench_c.c: %s\n", err ? err : ss_status_str(st));
    exit(1);
  }
}

static volatile size_t sink;

double bench_c_read(const ss_store *store, const char *const *ids, int ops) {
  unsigned seed = 1;
  char *err = NULL;
  double t0 = bench_now_ns();
  for (int k = 0; k < ops; ++k) {
    char *out = NULL;
    size_t len = 0;
    ss_status st = ss_read(store, ids[bench_next(&seed)], NULL, &out, &len, &err);
    check(st, err);
    sink += len;
    ss_string_free(out);
  }
  return (bench_now_ns() - t0) / ops;
}

double bench_c_upsert(ss_store *store, const char *const *sessions, const size_t *lens, int ops) {
  unsigned seed = 2;
  char *err = NULL;
  double t0 = bench_now_ns();
  for (int k = 0; k < ops; ++k) {
    unsigned i = bench_next(&seed);
    char *out = NULL;
    size_t len = 0;
    ss_status st = ss_upsert(store, sessions[i], lens[i], &out, &len, &err);
    check(st, err);
    sink += len;
    ss_string_free(out);
  }
  return (bench_now_ns() - t0) / ops;
}

double bench_c_recent(const ss_store *store, const char *const *users, int ops) {
  unsigned seed = 3;
  char *err = NULL;
  double t0 = bench_now_ns();
  for (int k = 0; k < ops; ++k) {
    char *out = NULL;
    size_t len = 0;
    ss_status st = ss_get_recent_sessions(store, users[bench_next(&seed) % BENCH_USERS], NULL, 5, &out, &len, &err);
    check(st, err);
    sink += len;
    ss_string_free(out);
  }
  return (bench_now_ns() - t0) / ops;
}
