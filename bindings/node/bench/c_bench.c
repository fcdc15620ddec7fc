/* The C side of bench/bench.js: the same workload through the C ABI, one JSON line per op:
 *   {"lang":"c","op":"read","ns_per_op":80.1}
 * Workload: 10,000 agent sessions of 1 KiB (ids "s<i>", user_id "u<i/10>", agent_id "a<i%10>", a memory
 * field padding each to 1024 bytes of JSON); read of a random existing id; upsert of an existing session
 * (stored JSON returned, as in the bindings); get_recent_sessions(random user, limit 5).
 * Each figure is the best (lowest) of ROUNDS rounds, which is the steadiest estimate on a shared machine.
 * Usage: c_bench [ops_per_round]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sessionstore.h"

#define N_SESSIONS 10000
#define SESSION_BYTES 1024
#define N_RANDOM 65536
#define ROUNDS 7

static char *session_json[N_SESSIONS];
static size_t session_len[N_SESSIONS];
static char session_id[N_SESSIONS][16];
static char user_id[N_SESSIONS / 10][16];
static uint32_t rnd_session[N_RANDOM];
static uint32_t rnd_user[N_RANDOM];
static volatile size_t sink;

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void check(ss_status st, char *err, const char *what) {
  if (st != SS_STATUS_OK) {
    fprintf(stderr, "c_bench: %s failed: %s (%s)\n", what, ss_status_str(st), err ? err : "");
    ss_string_free(err);
    exit(1);
  }
}

/* Same text as makeSession() in bench.js: exactly SESSION_BYTES bytes. */
static char *make_session(int i, size_t *len) {
  char head[128];
  int n = snprintf(head, sizeof head,
                   "{\"session_id\":\"s%d\",\"user_id\":\"u%d\",\"agent_id\":\"a%d\",\"memory\":{\"runs\":[],\"padding\":\"",
                   i, i / 10, i % 10);
  const char *tail = "\"}}";
  size_t pad = SESSION_BYTES - (size_t)n - strlen(tail);
  char *s = malloc(SESSION_BYTES + 1);
  memcpy(s, head, (size_t)n);
  memset(s + n, 'x', pad);
  memcpy(s + n + pad, tail, strlen(tail) + 1);
  *len = strlen(s);
  return s;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef void (*op_fn)(ss_store *store, long i);

static void op_read(ss_store *store, long i) {
  char *out = NULL, *err = NULL;
  size_t len = 0;
  ss_status st = ss_read(store, session_id[rnd_session[i & (N_RANDOM - 1)]], NULL, &out, &len, &err);
  check(st, err, "ss_read");
  sink += len + (size_t)(unsigned char)out[0];
  ss_string_free(out);
}

static void op_upsert(ss_store *store, long i) {
  uint32_t k = rnd_session[i & (N_RANDOM - 1)];
  char *out = NULL, *err = NULL;
  size_t len = 0;
  ss_status st = ss_upsert(store, session_json[k], session_len[k], &out, &len, &err);
  check(st, err, "ss_upsert");
  sink += len;
  ss_string_free(out);
}

static void op_recent(ss_store *store, long i) {
  char *out = NULL, *err = NULL;
  size_t len = 0;
  ss_status st = ss_get_recent_sessions(store, user_id[rnd_user[i & (N_RANDOM - 1)]], NULL, 5, &out, &len, &err);
  check(st, err, "ss_get_recent_sessions");
  sink += len;
  ss_string_free(out);
}

static double measure(ss_store *store, op_fn fn, long ops) {
  double rounds[ROUNDS];
  for (long i = 0; i < ops / 10; i++) fn(store, i); /* warm up */
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = now_ns();
    for (long i = 0; i < ops; i++) fn(store, i + (long)r * 7919);
    rounds[r] = (now_ns() - t0) / (double)ops;
  }
  qsort(rounds, ROUNDS, sizeof rounds[0], cmp_double);
  return rounds[0];
}

int main(int argc, char **argv) {
  long ops = argc > 1 ? atol(argv[1]) : 200000;
  if (ops <= 0) ops = 200000;

  ss_store *store = NULL;
  char *err = NULL;
  check(ss_store_open(NULL, 0, &store, &err), err, "ss_store_open");

  uint64_t x = 0x9E3779B97F4A7C15ull; /* xorshift64: fixed seed, same sequence every run */
  for (int i = 0; i < N_RANDOM; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    rnd_session[i] = (uint32_t)(x % N_SESSIONS);
    rnd_user[i] = (uint32_t)((x >> 20) % (N_SESSIONS / 10));
  }
  for (int i = 0; i < N_SESSIONS / 10; i++) snprintf(user_id[i], sizeof user_id[i], "u%d", i);
  for (int i = 0; i < N_SESSIONS; i++) {
    snprintf(session_id[i], sizeof session_id[i], "s%d", i);
    session_json[i] = make_session(i, &session_len[i]);
    check(ss_upsert(store, session_json[i], session_len[i], NULL, NULL, &err), err, "ss_upsert (load)");
  }

  printf("{\"lang\":\"c\",\"op\":\"read\",\"ns_per_op\":%.1f}\n", measure(store, op_read, ops));
  printf("{\"lang\":\"c\",\"op\":\"upsert\",\"ns_per_op\":%.1f}\n", measure(store, op_upsert, ops / 2));
  printf("{\"lang\":\"c\",\"op\":\"get_recent_sessions\",\"ns_per_op\":%.1f}\n", measure(store, op_recent, ops / 2));
  fflush(stdout);

  ss_store_close(store);
  for (int i = 0; i < N_SESSIONS; i++) free(session_json[i]);
  return sink == 42 ? 2 : 0;
}
