/* The C side of bench/bench.py: the same sessions (a JSONL file bench.py writes, one session per line,
 * "session_id" first and "user_id" second) through the C ABI, one JSON line per op:
 *   {"lang":"c","impl":"sessionstore","op":"read","ns_per_op":251.3,"sessions":10000}
 * Ops: read (random existing id, stored JSON copied out and freed), upsert (an existing session, stored
 * JSON returned), get_recent_sessions (random user, limit 5). Each figure is the best of ROUNDS rounds.
 * Usage: c_bench sessions.jsonl [ops_per_round]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sessionstore.h"

#define ROUNDS 7
#define N_RANDOM 65536

static char **json;
static size_t *json_len;
static char **ids;
static char **users;
static size_t n;
static uint32_t rnd[N_RANDOM];
static volatile size_t sink;

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void check(ss_status st, char *err, const char *what) {
  if (st != SS_STATUS_OK) {
    fprintf(stderr, "c_bench: %s failed: %s (%s)\n", what, ss_status_str(st), err ? err : "");
    exit(1);
  }
}

/* The string value after `"key":"` in a line (no escapes in the generated ids). */
static char *field(const char *line, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  const char *p = strstr(line, pat);
  if (!p) { fprintf(stderr, "c_bench: no %s in a line\n", key); exit(1); }
  p += strlen(pat);
  const char *q = strchr(p, '"');
  char *out = malloc((size_t)(q - p) + 1);
  memcpy(out, p, (size_t)(q - p));
  out[q - p] = 0;
  return out;
}

typedef void (*op_fn)(ss_store *, long);

static void op_read(ss_store *s, long i) {
  char *out = NULL, *err = NULL;
  size_t len = 0;
  check(ss_read(s, ids[rnd[i & (N_RANDOM - 1)] % n], NULL, &out, &len, &err), err, "ss_read");
  sink += len;
  ss_string_free(out);
}

static void op_upsert(ss_store *s, long i) {
  size_t k = rnd[i & (N_RANDOM - 1)] % n;
  char *out = NULL, *err = NULL;
  size_t len = 0;
  check(ss_upsert(s, json[k], json_len[k], &out, &len, &err), err, "ss_upsert");
  sink += len;
  ss_string_free(out);
}

static void op_recent(ss_store *s, long i) {
  char *out = NULL, *err = NULL;
  size_t len = 0;
  check(ss_get_recent_sessions(s, users[rnd[i & (N_RANDOM - 1)] % n], NULL, 5, &out, &len, &err), err, "recent");
  sink += len;
  ss_string_free(out);
}

static double measure(ss_store *s, op_fn fn, long ops) {
  double best = 1e300;
  for (long i = 0; i < ops / 10; i++) fn(s, i);
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = now_ns();
    for (long i = 0; i < ops; i++) fn(s, i + (long)r * 7919);
    double per = (now_ns() - t0) / (double)ops;
    if (per < best) best = per;
  }
  return best;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: c_bench sessions.jsonl [ops]\n"); return 2; }
  long ops = argc > 2 ? atol(argv[2]) : 100000;
  FILE *f = fopen(argv[1], "r");
  if (!f) { perror(argv[1]); return 1; }
  size_t cap = 1024;
  json = malloc(cap * sizeof *json); json_len = malloc(cap * sizeof *json_len);
  ids = malloc(cap * sizeof *ids); users = malloc(cap * sizeof *users);
  char *line = NULL;
  size_t lcap = 0;
  ssize_t got;
  while ((got = getline(&line, &lcap, f)) > 0) {
    while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
    if (got == 0) continue;
    if (n == cap) {
      cap *= 2;
      json = realloc(json, cap * sizeof *json); json_len = realloc(json_len, cap * sizeof *json_len);
      ids = realloc(ids, cap * sizeof *ids); users = realloc(users, cap * sizeof *users);
    }
    json[n] = strdup(line); json_len[n] = (size_t)got;
    ids[n] = field(line, "session_id"); users[n] = field(line, "user_id");
    n++;
  }
  fclose(f);
  free(line);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < N_RANDOM; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; rnd[i] = (uint32_t)(x >> 11); }

  ss_store *s = NULL;
  char *err = NULL;
  check(ss_store_open(NULL, 0, &s, &err), err, "open");
  for (size_t i = 0; i < n; i++) check(ss_upsert(s, json[i], json_len[i], NULL, NULL, &err), err, "load");
  printf("{\"lang\":\"c\",\"impl\":\"sessionstore\",\"op\":\"read\",\"ns_per_op\":%.1f,\"sessions\":%zu}\n", measure(s, op_read, ops), n);
  printf("{\"lang\":\"c\",\"impl\":\"sessionstore\",\"op\":\"upsert\",\"ns_per_op\":%.1f,\"sessions\":%zu}\n", measure(s, op_upsert, ops / 2), n);
  printf("{\"lang\":\"c\",\"impl\":\"sessionstore\",\"op\":\"get_recent_sessions\",\"ns_per_op\":%.1f,\"sessions\":%zu}\n", measure(s, op_recent, ops / 2), n);
  fflush(stdout);
  ss_store_close(s);
  return sink == 42 ? 3 : 0;
}
