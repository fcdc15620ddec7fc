/* The C loops of `make bench` (bench_c.c, compiled as C), called from bench.cpp between its C++ loops so
 * that both run in the same process, on the same store and data, in interleaved rounds. Each returns
 * the nanoseconds per call of one round of `ops` calls. */
#ifndef SESSIONSTORE_BENCH_C_H
#define SESSIONSTORE_BENCH_C_H

#include <sessionstore.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ss_read of ids in a fixed pseudo-random order; the result is received and freed. */
double bench_c_read(const ss_store *store, const char *const *ids, int ops);
/* ss_upsert replacing sessions; the stored JSON is received and freed. */
double bench_c_upsert(ss_store *store, const char *const *sessions, const size_t *lens, int ops);
/* ss_get_recent_sessions(user, NULL, 5); the result is received and freed. */
double bench_c_recent(const ss_store *store, const char *const *users, int ops);

#ifdef __cplusplus
}
#endif

#endif
