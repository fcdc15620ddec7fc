/* Shared by bench.c and bench.cpp: the data set (10,000 agent sessions of ~1 KiB, 100 users, 10 agents)
 * and the clock. */
#ifndef SESSIONSTORE_BENCH_COMMON_H
#define SESSIONSTORE_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_SESSIONS 10000
#define BENCH_USERS 100
#define BENCH_AGENTS 10

static inline double bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Writes session i (about 1 KiB of JSON) into buf; returns its length. */
static inline size_t bench_session(char *buf, size_t cap, int i) {
  char pad[801];
  memset(pad, 'a' + i % 26, sizeof pad - 1);
  pad[sizeof pad - 1] = '\0';
  int n = snprintf(buf, cap,
                   "{\"session_id\":\"session-%05d\",\"user_id\":\"user-%03d\",\"agent_id\":\"agent-%02d\","
                   "\"created_at\":%d,\"memory\":{\"runs\":[{\"input\":\"question %d\",\"output\":\"%s\"}]},"
                   "\"session_data\":{\"session_name\":\"conversation %d\"},\"agent_data\":{\"model\":\"gpt-4o-mini\"}}",
                   i, i % BENCH_USERS, i % BENCH_AGENTS, 1700000000 + i, i, pad, i);
  return (size_t)n;
}

static inline void bench_id(char *buf, size_t cap, int i) { snprintf(buf, cap, "session-%05d", i); }

/* A fixed pseudo-random visiting order. */
static inline unsigned bench_next(unsigned *state) {
  *state = *state * 1103515245u + 12345u;
  return (*state >> 8) % BENCH_SESSIONS;
}

#endif
