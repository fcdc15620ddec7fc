/* C tests of the sessionstore ABI: every function, every NULL pointer argument, invalid UTF-8,
 * malformed JSON, wrong field types and oversized input. Built with -Wall -Wextra -Werror and run
 * plainly, under ASan+UBSan and under valgrind by `make test`. */
#include "sessionstore.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            passed++;                                                                 \
        } else {                                                                      \
            failed++;                                                                 \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__, __func__, #cond); \
        }                                                                             \
    } while (0)

/* Expects `call` to return `want`; on failure checks a message came back, and frees it. */
#define EXPECT(want, call)                                                             \
    do {                                                                               \
        char *err_ = NULL;                                                             \
        char **out_error = &err_;                                                      \
        ss_status got_ = (call);                                                       \
        if (got_ != (want)) {                                                          \
            fprintf(stderr, "%s:%d: %s returned %u (%s), wanted %u: %s\n", __FILE__, __LINE__, \
                    #call, got_, ss_status_str(got_), (unsigned)(want), err_ ? err_ : "(no message)"); \
            failed++;                                                                  \
        } else {                                                                       \
            passed++;                                                                  \
        }                                                                              \
        CHECK((want) == SS_STATUS_OK ? err_ == NULL : err_ != NULL && err_[0] != '\0'); \
        ss_string_free(err_);                                                          \
    } while (0)

static ss_store *open_store(const char *config) {
    ss_store *store = NULL;
    char *err = NULL;
    ss_status st = ss_store_open(config, config ? strlen(config) : 0, &store, &err);
    if (st != SS_STATUS_OK) {
        fprintf(stderr, "open failed: %s\n", err);
        exit(2);
    }
    return store;
}

static ss_status upsert(ss_store *store, const char *json, char **out_error) {
    return ss_upsert(store, json, strlen(json), NULL, NULL, out_error);
}

static int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

static void test_version_and_status_text(void) {
    CHECK(strcmp(ss_version(), SS_VERSION_STRING) == 0);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", SS_VERSION_MAJOR, SS_VERSION_MINOR, SS_VERSION_PATCH);
    CHECK(strcmp(ss_version(), expected) == 0);
    CHECK(SS_VERSION_NUMBER == SS_VERSION_MAJOR * 1000000 + SS_VERSION_MINOR * 1000 + SS_VERSION_PATCH);
    CHECK(strcmp(ss_status_str(SS_STATUS_OK), "ok") == 0);
    CHECK(strcmp(ss_status_str(SS_STATUS_NOT_FOUND), "not found") == 0);
    CHECK(strcmp(ss_status_str(SS_STATUS_INVALID_ARGUMENT), "invalid argument") == 0);
    CHECK(strcmp(ss_status_str(SS_STATUS_INVALID_JSON), "invalid JSON") == 0);
    CHECK(strcmp(ss_status_str(SS_STATUS_INVALID_SESSION), "invalid session") == 0);
    CHECK(strcmp(ss_status_str(SS_STATUS_CONFLICT), "conflict") == 0);
    CHECK(strcmp(ss_status_str(SS_STATUS_TOO_LARGE), "too large") == 0);
    CHECK(strcmp(ss_status_str(SS_STATUS_INTERNAL), "internal error") == 0);
    CHECK(strcmp(ss_status_str(SS_STATUS_PERMISSION_DENIED), "permission denied") == 0);
    CHECK(strcmp(ss_status_str(SS_BINDING_STATUS_CLOSED), "closed") == 0);
    CHECK(strcmp(ss_status_str(12345), "unknown status") == 0);
    /* Stable numbers: bindings hard-code them. */
    CHECK(SS_STATUS_OK == 0 && SS_STATUS_NOT_FOUND == 1 && SS_STATUS_INVALID_ARGUMENT == 2 &&
          SS_STATUS_INVALID_JSON == 3 && SS_STATUS_INVALID_SESSION == 4 && SS_STATUS_CONFLICT == 5 &&
          SS_STATUS_TOO_LARGE == 6 && SS_STATUS_INTERNAL == 7 && SS_STATUS_PERMISSION_DENIED == 8 &&
          SS_STATUS_IO == 9 && SS_STATUS_LOCKED == 10 && SS_STATUS_CORRUPT == 11 && SS_STATUS_POISONED == 12 &&
          SS_STATUS_VERSION_MISMATCH == 13 && SS_STATUS_FEED_TRUNCATED == 14 && SS_STATUS_FULL == 15 &&
          SS_STATUS_UNAVAILABLE == 16);
    CHECK(strcmp(ss_status_str(SS_STATUS_FULL), "full") == 0);
    CHECK(strcmp(ss_status_str(SS_STATUS_UNAVAILABLE), "unavailable") == 0);
    CHECK(strcmp(ss_status_str(SS_STATUS_VERSION_MISMATCH), "version mismatch") == 0);
    CHECK(strcmp(ss_status_str(SS_STATUS_FEED_TRUNCATED), "feed truncated") == 0);
}

static void test_open_share_close(void) {
    ss_store *store = NULL, *shared = NULL;
    const char *bad_key = "{\"mode\":\"agent\",\"colour\":1}";
    const char *bad_mode = "{\"mode\":\"robot\"}";
    const char *bad_json = "{\"mode\":";
    const char *bad_size = "{\"max_session_bytes\":0}";
    /* A Redis store: keys of the other backend are refused; a server that is not there is unavailable. */
    const char *redis_with_path = "{\"backend\":\"redis\",\"url\":\"redis://127.0.0.1:1/0\",\"path\":\"/tmp/x\"}";
    const char *redis_nobody = "{\"backend\":\"redis\",\"url\":\"redis://127.0.0.1:1/0\",\"connect_timeout_ms\":200}";
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_store_open(redis_with_path, strlen(redis_with_path), &store, out_error));
    EXPECT(SS_STATUS_UNAVAILABLE, ss_store_open(redis_nobody, strlen(redis_nobody), &store, out_error));
    CHECK(store == NULL);
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_store_open(bad_key, strlen(bad_key), &store, out_error));
    CHECK(store == NULL);
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_store_open(bad_mode, strlen(bad_mode), &store, out_error));
    EXPECT(SS_STATUS_INVALID_JSON, ss_store_open(bad_json, strlen(bad_json), &store, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_store_open(bad_size, strlen(bad_size), &store, out_error));
    EXPECT(SS_STATUS_INVALID_JSON, ss_store_open("\xff", 1, &store, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_store_open(NULL, 0, NULL, out_error));
    /* A message echoing a NUL from the input spells it out instead of being cut short. */
    const char *nul_key = "{\"a\\u0000b\":1}";
    char *message = NULL;
    CHECK(ss_store_open(nul_key, strlen(nul_key), &store, &message) == SS_STATUS_INVALID_ARGUMENT);
    CHECK(contains(message, "a\\u0000b"));
    ss_string_free(message);
    CHECK(store == NULL);
    /* The config need not be NUL-terminated: only config_len bytes are read. */
    const char config[] = "{\"mode\":\"team\"}XXXX";
    EXPECT(SS_STATUS_OK, ss_store_open(config, strlen(config) - 4, &store, out_error));
    CHECK(store != NULL);

    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_store_share(NULL, NULL, &shared, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_store_share(store, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_store_share(store, "robot", &shared, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_store_share(store, "\xc3\x28", &shared, out_error));
    CHECK(shared == NULL);
    EXPECT(SS_STATUS_OK, ss_store_share(store, NULL, &shared, out_error));

    /* The shared handle keeps the data alive after the first is closed, in the first's mode. */
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"t\",\"team_id\":\"x\"}", out_error));
    ss_store_close(store);
    char *json = NULL;
    EXPECT(SS_STATUS_OK, ss_read(shared, "t", NULL, &json, NULL, out_error));
    CHECK(contains(json, "\"session_type\":\"team\""));
    ss_string_free(json);
    ss_store_close(shared);
    ss_store_close(NULL);
    ss_string_free(NULL);
}

/* A sink for ss_read_with(): keeps a copy of what it was lent and counts its calls. */
struct lent {
    int calls;
    size_t len;
    char copy[512];
};

static void keep_copy(void *context, const char *json, size_t len) {
    struct lent *lent = context;
    lent->calls++;
    lent->len = len;
    memcpy(lent->copy, json, len < sizeof lent->copy ? len : sizeof lent->copy);
}

static void test_upsert_and_read(void) {
    ss_store *store = open_store(NULL);
    char *json = NULL;
    size_t len = 0;
    const char *session = "{\"session_id\":\"s1\",\"user_id\":\"u1\",\"agent_id\":\"a1\","
                          "\"memory\":{\"runs\":[{\"role\":\"user\",\"content\":\"h\\u00e9\"}]},\"x\":1.50}";
    EXPECT(SS_STATUS_OK, ss_upsert(store, session, strlen(session), &json, &len, out_error));
    CHECK(json != NULL && len == strlen(json));
    CHECK(contains(json, "\"memory\":{\"runs\":[{\"role\":\"user\",\"content\":\"h\\u00e9\"}]},\"x\":1.50"));
    CHECK(contains(json, "\"session_type\":\"agent\""));
    CHECK(contains(json, "\"created_at\":") && contains(json, "\"updated_at\":"));

    char *read = NULL;
    size_t read_len = 0;
    EXPECT(SS_STATUS_OK, ss_read(store, "s1", "u1", &read, &read_len, out_error));
    CHECK(read != NULL && strcmp(read, json) == 0 && read_len == len);
    ss_string_free(read);
    read = NULL;
    EXPECT(SS_STATUS_OK, ss_read(store, "s1", "", &read, NULL, out_error));
    ss_string_free(read);
    read = NULL;
    EXPECT(SS_STATUS_NOT_FOUND, ss_read(store, "s1", "u2", &read, &read_len, out_error));
    EXPECT(SS_STATUS_NOT_FOUND, ss_read(store, "nope", NULL, &read, &read_len, out_error));
    CHECK(read == NULL); /* out-parameters are written only on success */

    /* ss_read_with lends the stored bytes to a sink, once, and only when the session is visible. */
    struct lent lent = {0};
    EXPECT(SS_STATUS_OK, ss_read_with(store, "s1", "u1", keep_copy, &lent, out_error));
    CHECK(lent.calls == 1 && lent.len == len && len < sizeof lent.copy && memcmp(lent.copy, json, len) == 0);
    EXPECT(SS_STATUS_NOT_FOUND, ss_read_with(store, "s1", "u2", keep_copy, &lent, out_error));
    EXPECT(SS_STATUS_NOT_FOUND, ss_read_with(store, "nope", NULL, keep_copy, &lent, out_error));
    CHECK(lent.calls == 1);
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read_with(store, "s1", NULL, NULL, &lent, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read_with(NULL, "s1", NULL, keep_copy, &lent, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read_with(store, NULL, NULL, keep_copy, &lent, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read_with(store, "\xff", NULL, keep_copy, &lent, out_error));
    CHECK(lent.calls == 1);
    CHECK(ss_read_with(store, "s1", NULL, keep_copy, &lent, NULL) == SS_STATUS_OK && lent.calls == 2);

    /* ss_read_into copies into the caller's buffer when the session fits, and gives its length always. */
    char buf[512];
    size_t got = 0;
    memset(buf, '#', sizeof buf);
    EXPECT(SS_STATUS_OK, ss_read_into(store, "s1", "u1", buf, len, &got, out_error));
    CHECK(got == len && memcmp(buf, json, len) == 0 && buf[len] == '#'); /* exactly len bytes, no NUL */
    memset(buf, '#', sizeof buf);
    got = 0;
    EXPECT(SS_STATUS_OK, ss_read_into(store, "s1", NULL, buf, len - 1, &got, out_error));
    CHECK(got == len && buf[0] == '#' && buf[len - 2] == '#'); /* too small: nothing copied */
    got = 0;
    EXPECT(SS_STATUS_OK, ss_read_into(store, "s1", NULL, NULL, 0, &got, out_error));
    CHECK(got == len);
    got = 7;
    EXPECT(SS_STATUS_NOT_FOUND, ss_read_into(store, "s1", "u2", buf, sizeof buf, &got, out_error));
    EXPECT(SS_STATUS_NOT_FOUND, ss_read_into(store, "nope", NULL, buf, sizeof buf, &got, out_error));
    CHECK(got == 7 && buf[0] == '#'); /* nothing written on a miss */
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read_into(NULL, "s1", NULL, buf, sizeof buf, &got, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read_into(store, NULL, NULL, buf, sizeof buf, &got, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read_into(store, "s1", NULL, buf, sizeof buf, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read_into(store, "s1", NULL, NULL, 16, &got, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read_into(store, "\xff", NULL, buf, sizeof buf, &got, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read_into(store, "s1", "\xff", buf, sizeof buf, &got, out_error));
    CHECK(got == 7 && buf[0] == '#');
    CHECK(ss_read_into(store, "s1", NULL, buf, sizeof buf, &got, NULL) == SS_STATUS_OK && got == len);
    ss_string_free(json);

    /* NULL out-parameters are allowed: nothing is written there. */
    CHECK(ss_read(store, "s1", NULL, NULL, NULL, NULL) == SS_STATUS_OK);
    CHECK(ss_read(store, "nope", NULL, NULL, NULL, NULL) == SS_STATUS_NOT_FOUND);

    /* Every NULL pointer argument. */
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_upsert(NULL, session, strlen(session), NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_upsert(store, NULL, 10, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read(NULL, "s1", NULL, &read, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read(store, NULL, NULL, &read, NULL, out_error));
    CHECK(read == NULL);

    /* Invalid UTF-8, in a payload and in ids. */
    const char *bad_utf8 = "{\"session_id\":\"\xed\xa0\x80\"}";
    EXPECT(SS_STATUS_INVALID_JSON, upsert(store, bad_utf8, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read(store, "\xff", NULL, &read, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_read(store, "s1", "\xff", &read, NULL, out_error));

    /* Malformed JSON, wrong shapes and wrong field types. */
    EXPECT(SS_STATUS_INVALID_JSON, upsert(store, "{\"session_id\":", out_error));
    EXPECT(SS_STATUS_INVALID_JSON, upsert(store, "", out_error));
    EXPECT(SS_STATUS_INVALID_JSON, upsert(store, "{\"session_id\":\"a\"} trailing", out_error));
    EXPECT(SS_STATUS_INVALID_JSON, upsert(store, "{\"session_id\":\"a\",\"session_id\":\"b\"}", out_error));
    EXPECT(SS_STATUS_INVALID_SESSION, upsert(store, "[1,2]", out_error));
    EXPECT(SS_STATUS_INVALID_SESSION, upsert(store, "{\"user_id\":\"u\"}", out_error));
    EXPECT(SS_STATUS_INVALID_SESSION, upsert(store, "{\"session_id\":\"\"}", out_error));
    EXPECT(SS_STATUS_INVALID_SESSION, upsert(store, "{\"session_id\":42}", out_error));
    EXPECT(SS_STATUS_INVALID_SESSION, upsert(store, "{\"session_id\":\"a\",\"user_id\":[]}", out_error));
    EXPECT(SS_STATUS_INVALID_SESSION, upsert(store, "{\"session_id\":\"a\",\"created_at\":\"now\"}", out_error));
    EXPECT(SS_STATUS_INVALID_SESSION, upsert(store, "{\"session_id\":\"a\",\"created_at\":1e400}", out_error));
    EXPECT(SS_STATUS_INVALID_SESSION, upsert(store, "{\"session_id\":\"a\",\"session_data\":[]}", out_error));
    EXPECT(SS_STATUS_INVALID_SESSION, upsert(store, "{\"session_id\":\"a\",\"session_type\":\"team\"}", out_error));

    /* Hostile nesting is an error, not a stack overflow. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 32);
    size_t n = (size_t)sprintf(deep, "{\"session_id\":\"d\",\"m\":");
    memset(deep + n, '[', depth);
    memset(deep + n + depth, ']', depth);
    deep[n + 2 * depth] = '}';
    EXPECT(SS_STATUS_INVALID_JSON, ss_upsert(store, deep, n + 2 * depth + 1, NULL, NULL, out_error));
    free(deep);

    /* An escaped NUL stays escaped: the returned string's length is its strlen. */
    const char *escaped_nul = "{\"session_id\":\"z\",\"note\":\"a\\u0000b\"}";
    EXPECT(SS_STATUS_OK, ss_upsert(store, escaped_nul, strlen(escaped_nul), &json, &len, out_error));
    CHECK(contains(json, "\"note\":\"a\\u0000b\"") && len == strlen(json));
    ss_string_free(json);
    size_t removed = 0;
    EXPECT(SS_STATUS_OK, ss_delete_session(store, "z", NULL, &removed, out_error));

    /* Payload length is honoured: the bytes after it are never read. */
    const char padded[] = "{\"session_id\":\"p\"}GARBAGE";
    EXPECT(SS_STATUS_OK, ss_upsert(store, padded, strlen(padded) - 7, NULL, NULL, out_error));

    /* The failures above stored nothing. */
    char *ids = NULL;
    EXPECT(SS_STATUS_OK, ss_get_all_session_ids(store, NULL, NULL, &ids, NULL, out_error));
    CHECK(ids != NULL && strcmp(ids, "[\"s1\",\"p\"]") == 0);
    ss_string_free(ids);
    ss_store_close(store);
}

static void test_too_large(void) {
    const char *config = "{\"max_session_bytes\":100}";
    ss_store *store = open_store(config);
    char big[256];
    memset(big, 0, sizeof big);
    int n = snprintf(big, sizeof big, "{\"session_id\":\"b\",\"memory\":\"%0120d\"}", 0);
    EXPECT(SS_STATUS_TOO_LARGE, ss_upsert(store, big, (size_t)n, NULL, NULL, out_error));
    char many[300];
    n = snprintf(many, sizeof many, "[{\"session_id\":\"ok\"},%s]", big);
    EXPECT(SS_STATUS_TOO_LARGE, ss_upsert_many(store, many, (size_t)n, NULL, NULL, out_error));
    char import[300];
    n = snprintf(import, sizeof import, "{\"b\":%s}", big);
    EXPECT(SS_STATUS_TOO_LARGE, ss_import(store, import, (size_t)n, NULL, out_error));
    /* A payload of hundreds of MB is refused by its length, before it is parsed. */
    size_t huge = 200u * 1024 * 1024;
    char *payload = malloc(huge);
    memset(payload, ' ', huge);
    ss_store *defaults = open_store(NULL);
    EXPECT(SS_STATUS_TOO_LARGE, ss_upsert(defaults, payload, huge, NULL, NULL, out_error));
    free(payload);
    ss_store_close(defaults);
    ss_store_close(store);
}

static void test_upsert_many(void) {
    ss_store *store = open_store(NULL);
    char *json = NULL;
    char *err = NULL;
    const char *ok = "[{\"session_id\":\"a\"},{\"session_id\":\"b\",\"user_id\":\"u\"}]";
    EXPECT(SS_STATUS_OK, ss_upsert_many(store, ok, strlen(ok), &json, NULL, out_error));
    CHECK(contains(json, "\"session_id\":\"a\"") && contains(json, "\"session_id\":\"b\""));
    CHECK(json != NULL && json[0] == '[');
    ss_string_free(json);
    const char *bad = "[{\"session_id\":\"c\"},{\"session_id\":\"d\",\"team_id\":5}]";
    ss_status st = ss_upsert_many(store, bad, strlen(bad), NULL, NULL, &err);
    CHECK(st == SS_STATUS_INVALID_SESSION);
    CHECK(err != NULL && strncmp(err, "sessions[1]:", 12) == 0);
    ss_string_free(err);
    EXPECT(SS_STATUS_NOT_FOUND, ss_read(store, "c", NULL, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_upsert_many(store, "{}", 2, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_JSON, ss_upsert_many(store, "[", 1, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_upsert_many(NULL, ok, strlen(ok), NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_upsert_many(store, NULL, 1, NULL, NULL, out_error));
    ss_store_close(store);
}

static void test_modes_and_conflicts(void) {
    ss_store *agent = open_store(NULL);
    ss_store *team = NULL, *wf2 = NULL;
    EXPECT(SS_STATUS_OK, ss_store_share(agent, "team", &team, out_error));
    EXPECT(SS_STATUS_OK, ss_store_share(agent, "workflow_v2", &wf2, out_error));
    EXPECT(SS_STATUS_OK, upsert(agent, "{\"session_id\":\"x\",\"user_id\":\"u\"}", out_error));
    EXPECT(SS_STATUS_CONFLICT, upsert(team, "{\"session_id\":\"x\",\"user_id\":\"v\"}", out_error));
    EXPECT(SS_STATUS_NOT_FOUND, ss_read(team, "x", NULL, NULL, NULL, out_error));
    char *json = NULL;
    EXPECT(SS_STATUS_OK, ss_read(agent, "x", NULL, &json, NULL, out_error));
    CHECK(contains(json, "\"user_id\":\"u\""));
    ss_string_free(json);

    /* workflow_v2 filters by user (the original returned nothing here). */
    EXPECT(SS_STATUS_OK, upsert(wf2, "{\"session_id\":\"w\",\"user_id\":\"u\",\"workflow_id\":\"f\",\"runs\":[]}", out_error));
    char *ids = NULL;
    EXPECT(SS_STATUS_OK, ss_get_all_session_ids(wf2, "u", NULL, &ids, NULL, out_error));
    CHECK(ids != NULL && strcmp(ids, "[\"w\"]") == 0);
    ss_string_free(ids);
    EXPECT(SS_STATUS_OK, ss_get_all_session_ids(wf2, "u", "f", &ids, NULL, out_error));
    CHECK(ids != NULL && strcmp(ids, "[\"w\"]") == 0);
    ss_string_free(ids);
    EXPECT(SS_STATUS_OK, ss_get_all_session_ids(agent, "u", NULL, &ids, NULL, out_error));
    CHECK(ids != NULL && strcmp(ids, "[\"x\"]") == 0);
    ss_string_free(ids);
    ss_store_close(wf2);
    ss_store_close(team);
    ss_store_close(agent);
}

static void test_listings(void) {
    ss_store *store = open_store(NULL);
    const char *sessions[] = {
        "{\"session_id\":\"s1\",\"user_id\":\"u1\",\"agent_id\":\"a\",\"created_at\":10}",
        "{\"session_id\":\"s2\",\"user_id\":\"u2\",\"agent_id\":\"a\",\"created_at\":30}",
        "{\"session_id\":\"s3\",\"user_id\":\"u1\",\"agent_id\":\"b\",\"created_at\":20}",
        "{\"session_id\":\"s4\",\"user_id\":\"u1\",\"agent_id\":\"a\",\"created_at\":20}",
    };
    for (size_t i = 0; i < sizeof sessions / sizeof *sessions; i++) {
        EXPECT(SS_STATUS_OK, upsert(store, sessions[i], out_error));
    }
    char *json = NULL;
    size_t len = 0;
    EXPECT(SS_STATUS_OK, ss_get_all_session_ids(store, NULL, NULL, &json, &len, out_error));
    CHECK(json != NULL && strcmp(json, "[\"s1\",\"s2\",\"s3\",\"s4\"]") == 0 && len == strlen(json));
    ss_string_free(json);
    EXPECT(SS_STATUS_OK, ss_get_all_session_ids(store, "u1", "a", &json, NULL, out_error));
    CHECK(json != NULL && strcmp(json, "[\"s1\",\"s4\"]") == 0);
    ss_string_free(json);
    EXPECT(SS_STATUS_OK, ss_get_all_sessions(store, "", "b", &json, NULL, out_error));
    CHECK(contains(json, "\"session_id\":\"s3\"") && !contains(json, "\"s1\""));
    ss_string_free(json);

    /* Newest first; s4 ties with s3 and was inserted later, so it comes first. */
    EXPECT(SS_STATUS_OK, ss_get_recent_sessions(store, "u1", NULL, 2, &json, NULL, out_error));
    CHECK(json != NULL && strstr(json, "s4") < strstr(json, "s3") && !contains(json, "s1"));
    ss_string_free(json);
    EXPECT(SS_STATUS_OK, ss_get_recent_sessions(store, NULL, NULL, -1, &json, NULL, out_error));
    CHECK(contains(json, "s1") && contains(json, "s2") && strstr(json, "s2") < strstr(json, "s4"));
    ss_string_free(json);
    EXPECT(SS_STATUS_OK, ss_get_recent_sessions(store, NULL, NULL, 0, &json, NULL, out_error));
    CHECK(json != NULL && strcmp(json, "[]") == 0);
    ss_string_free(json);

    const char *query = "{\"user_id\":\"u1\",\"sort_by\":\"session_id\",\"sort_order\":\"asc\",\"limit\":2,\"offset\":1}";
    EXPECT(SS_STATUS_OK, ss_query(store, query, strlen(query), &json, NULL, out_error));
    CHECK(contains(json, "\"total\":3") && contains(json, "s3") && contains(json, "s4") && !contains(json, "\"s1\""));
    ss_string_free(json);
    EXPECT(SS_STATUS_OK, ss_query(store, NULL, 0, &json, NULL, out_error));
    CHECK(contains(json, "\"total\":4"));
    ss_string_free(json);
    const char *typo = "{\"user\":\"u1\"}";
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_query(store, typo, strlen(typo), &json, NULL, out_error));
    const char *bad_sort = "{\"sort_by\":\"colour\"}";
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_query(store, bad_sort, strlen(bad_sort), &json, NULL, out_error));
    const char *wrong_type = "{\"limit\":\"ten\"}";
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_query(store, wrong_type, strlen(wrong_type), &json, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_JSON, ss_query(store, "{", 1, &json, NULL, out_error));

    /* NULL store and invalid UTF-8 filters for every listing. */
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_get_all_session_ids(NULL, NULL, NULL, &json, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_get_all_sessions(NULL, NULL, NULL, &json, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_get_recent_sessions(NULL, NULL, NULL, 1, &json, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_query(NULL, NULL, 0, &json, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_get_all_session_ids(store, "\xff", NULL, &json, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_get_all_sessions(store, NULL, "\xff", &json, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_get_recent_sessions(store, "\xff", NULL, 1, &json, NULL, out_error));
    ss_store_close(store);
}

static void test_rename_delete_drop_stats(void) {
    ss_store *agent = open_store(NULL);
    ss_store *team = NULL;
    EXPECT(SS_STATUS_OK, ss_store_share(agent, "team", &team, out_error));
    EXPECT(SS_STATUS_OK, upsert(agent, "{\"session_id\":\"a1\",\"session_data\":{\"k\":1}}", out_error));
    EXPECT(SS_STATUS_OK, upsert(agent, "{\"session_id\":\"a2\"}", out_error));
    EXPECT(SS_STATUS_OK, upsert(agent, "{\"session_id\":\"a3\"}", out_error));
    EXPECT(SS_STATUS_OK, upsert(team, "{\"session_id\":\"t1\"}", out_error));

    char *json = NULL;
    EXPECT(SS_STATUS_OK, ss_rename_session(agent, "a1", "My \"trip\"", NULL, &json, NULL, out_error));
    CHECK(contains(json, "\"session_data\":{\"k\":1,\"session_name\":\"My \\\"trip\\\"\"}"));
    ss_string_free(json);
    EXPECT(SS_STATUS_NOT_FOUND, ss_rename_session(agent, "t1", "x", NULL, &json, NULL, out_error));
    EXPECT(SS_STATUS_NOT_FOUND, ss_rename_session(agent, "zz", "x", NULL, &json, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_rename_session(NULL, "a1", "x", NULL, &json, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_rename_session(agent, NULL, "x", NULL, &json, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_rename_session(agent, "a1", NULL, NULL, &json, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_rename_session(agent, "a1", "\xff", NULL, &json, NULL, out_error));

    size_t removed = 99;
    EXPECT(SS_STATUS_OK, ss_delete_session(agent, "a2", NULL, &removed, out_error));
    CHECK(removed == 1);
    EXPECT(SS_STATUS_OK, ss_delete_session(agent, "a2", NULL, &removed, out_error));
    CHECK(removed == 0);
    EXPECT(SS_STATUS_OK, ss_delete_session(agent, "t1", NULL, &removed, out_error));
    CHECK(removed == 0);
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_delete_session(NULL, "a1", NULL, &removed, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_delete_session(agent, NULL, NULL, &removed, out_error));

    const char *ids = "[\"a3\",\"t1\",\"missing\"]";
    EXPECT(SS_STATUS_OK, ss_delete_sessions(agent, ids, strlen(ids), NULL, &removed, out_error));
    CHECK(removed == 1);
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_delete_sessions(agent, "[1]", 3, NULL, &removed, out_error));
    EXPECT(SS_STATUS_INVALID_JSON, ss_delete_sessions(agent, "[", 1, NULL, &removed, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_delete_sessions(NULL, ids, strlen(ids), NULL, &removed, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_delete_sessions(agent, NULL, 0, NULL, &removed, out_error));

    EXPECT(SS_STATUS_OK, ss_stats(team, &json, NULL, out_error));
    CHECK(contains(json, "\"mode\":\"team\"") && contains(json, "\"sessions\":2") &&
          contains(json, "\"agent\":1") && contains(json, "\"team\":1"));
    ss_string_free(json);
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_stats(NULL, &json, NULL, out_error));

    EXPECT(SS_STATUS_OK, ss_drop(agent, &removed, out_error));
    CHECK(removed == 1);
    EXPECT(SS_STATUS_OK, ss_read(team, "t1", NULL, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_drop(NULL, &removed, out_error));
    ss_store_close(team);
    ss_store_close(agent);
}

/* A session belongs to its user: upserts may not take it over; rename and delete can be scoped. */
static void test_ownership(void) {
    ss_store *store = open_store(NULL);
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"s\",\"user_id\":\"alice\",\"n\":1}", out_error));
    EXPECT(SS_STATUS_PERMISSION_DENIED, upsert(store, "{\"session_id\":\"s\",\"user_id\":\"bob\"}", out_error));
    EXPECT(SS_STATUS_PERMISSION_DENIED, upsert(store, "{\"session_id\":\"s\",\"user_id\":null}", out_error));
    EXPECT(SS_STATUS_PERMISSION_DENIED, upsert(store, "{\"session_id\":\"s\"}", out_error));
    const char *batch = "[{\"session_id\":\"new\"},{\"session_id\":\"s\",\"user_id\":\"bob\"}]";
    char *error = NULL;
    CHECK(ss_upsert_many(store, batch, strlen(batch), NULL, NULL, &error) == SS_STATUS_PERMISSION_DENIED);
    CHECK(error != NULL && strncmp(error, "sessions[1]", 11) == 0 && !contains(error, "alice"));
    ss_string_free(error);
    char *json = NULL;
    EXPECT(SS_STATUS_NOT_FOUND, ss_read(store, "new", NULL, &json, NULL, out_error));
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"s\",\"user_id\":\"alice\",\"n\":2}", out_error));
    /* An unowned session may be claimed. */
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"free\"}", out_error));
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"free\",\"user_id\":\"bob\"}", out_error));

    EXPECT(SS_STATUS_NOT_FOUND, ss_rename_session(store, "s", "x", "bob", &json, NULL, out_error));
    EXPECT(SS_STATUS_OK, ss_rename_session(store, "s", "mine", "alice", &json, NULL, out_error));
    CHECK(contains(json, "\"session_name\":\"mine\""));
    ss_string_free(json);
    size_t removed = 99;
    EXPECT(SS_STATUS_OK, ss_delete_session(store, "s", "bob", &removed, out_error));
    CHECK(removed == 0);
    const char *ids = "[\"s\",\"free\"]";
    EXPECT(SS_STATUS_OK, ss_delete_sessions(store, ids, strlen(ids), "bob", &removed, out_error));
    CHECK(removed == 1);
    EXPECT(SS_STATUS_OK, ss_delete_session(store, "s", "alice", &removed, out_error));
    CHECK(removed == 1);
    ss_store_close(store);
}

static void test_export_import(void) {
    ss_store *agent = open_store(NULL);
    ss_store *team = NULL;
    EXPECT(SS_STATUS_OK, ss_store_share(agent, "team", &team, out_error));
    EXPECT(SS_STATUS_OK, upsert(agent, "{\"session_id\":\"a\",\"created_at\":5,\"memory\":{\"runs\":[]}}", out_error));
    EXPECT(SS_STATUS_OK, upsert(team, "{\"session_id\":\"t\",\"team_id\":\"tm\"}", out_error));
    char *exported = NULL;
    size_t len = 0;
    EXPECT(SS_STATUS_OK, ss_export(agent, &exported, &len, out_error));
    CHECK(exported != NULL && exported[0] == '{' && len == strlen(exported));
    CHECK(contains(exported, "\"a\":{\"session_id\":\"a\"") && contains(exported, "\"session_type\":\"team\""));

    ss_store *restored = open_store(NULL);
    size_t count = 0;
    EXPECT(SS_STATUS_OK, ss_import(restored, exported, len, &count, out_error));
    CHECK(count == 2);
    char *again = NULL;
    EXPECT(SS_STATUS_OK, ss_export(restored, &again, NULL, out_error));
    CHECK(again != NULL && strcmp(again, exported) == 0);
    ss_string_free(again);

    const char *mismatch = "{\"k\":{\"session_id\":\"other\"}}";
    EXPECT(SS_STATUS_INVALID_SESSION, ss_import(restored, mismatch, strlen(mismatch), &count, out_error));
    const char *conflict = "{\"new\":{\"session_id\":\"new\"},\"t\":{\"session_id\":\"t\",\"session_type\":\"agent\"}}";
    EXPECT(SS_STATUS_CONFLICT, ss_import(restored, conflict, strlen(conflict), &count, out_error));
    EXPECT(SS_STATUS_NOT_FOUND, ss_read(restored, "new", NULL, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_import(restored, "[]", 2, &count, out_error));
    EXPECT(SS_STATUS_INVALID_JSON, ss_import(restored, "{", 1, &count, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_import(NULL, exported, len, &count, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_import(restored, NULL, len, &count, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_export(NULL, &again, NULL, out_error));
    ss_string_free(exported);
    ss_store_close(restored);
    ss_store_close(team);
    ss_store_close(agent);
}

/* Writers and readers on shared handles: no crash, no lost acknowledged write. */
enum { THREADS = 4, PER_THREAD = 2000 };

struct worker {
    ss_store *store;
    int id;
    int errors;
};

static void *work(void *arg) {
    struct worker *w = arg;
    char json[128], id[32];
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(id, sizeof id, "t%d-%d", w->id, i % 100);
        int n = snprintf(json, sizeof json, "{\"session_id\":\"%s\",\"user_id\":\"u%d\",\"n\":%d}", id, w->id, i);
        if (ss_upsert(w->store, json, (size_t)n, NULL, NULL, NULL) != SS_STATUS_OK) w->errors++;
        char *out = NULL;
        if (ss_read(w->store, id, NULL, &out, NULL, NULL) != SS_STATUS_OK) w->errors++;
        ss_string_free(out);
        if (ss_get_recent_sessions(w->store, NULL, NULL, 5, &out, NULL, NULL) != SS_STATUS_OK) w->errors++;
        ss_string_free(out);
    }
    return NULL;
}

static void test_threads(void) {
    ss_store *store = open_store(NULL);
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i].id = i;
        workers[i].errors = 0;
        CHECK(ss_store_share(store, NULL, &workers[i].store, NULL) == SS_STATUS_OK);
        pthread_create(&threads[i], NULL, work, &workers[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(workers[i].errors == 0);
        ss_store_close(workers[i].store);
    }
    char *stats = NULL;
    CHECK(ss_stats(store, &stats, NULL, NULL) == SS_STATUS_OK);
    CHECK(contains(stats, "\"sessions\":400"));
    ss_string_free(stats);
    char *json = NULL;
    CHECK(ss_read(store, "t3-99", NULL, &json, NULL, NULL) == SS_STATUS_OK);
    CHECK(contains(json, "\"n\":1999"));
    ss_string_free(json);
    ss_store_close(store);
}

/* The "version" member of a stored session, or -1. */
static long long version_of(const char *json) {
    const char *at = json ? strstr(json, "\"version\":") : NULL;
    return at ? atoll(at + strlen("\"version\":")) : -1;
}

static void test_versions_and_conditional_writes(void) {
    ss_store *store = open_store(NULL);
    char *json = NULL;
    size_t len = 0, removed = 9;
    const char *s = "{\"session_id\":\"s\",\"n\":1}";
    /* 0 creates only. */
    EXPECT(SS_STATUS_OK, ss_upsert_if(store, s, strlen(s), 0, &json, &len, out_error));
    long long v1 = version_of(json);
    CHECK(v1 == 1 && len == strlen(json));
    ss_string_free(json);
    json = NULL;
    EXPECT(SS_STATUS_VERSION_MISMATCH, ss_upsert_if(store, s, strlen(s), 0, &json, &len, out_error));
    CHECK(json == NULL);
    EXPECT(SS_STATUS_VERSION_MISMATCH, ss_upsert_if(store, s, strlen(s), 7, NULL, NULL, out_error));
    EXPECT(SS_STATUS_OK, ss_upsert_if(store, s, strlen(s), (uint64_t)v1, &json, NULL, out_error));
    long long v2 = version_of(json);
    CHECK(v2 == 2);
    ss_string_free(json);
    /* Rename and delete. */
    EXPECT(SS_STATUS_VERSION_MISMATCH, ss_rename_session_if(store, "s", "name", NULL, (uint64_t)v1, NULL, NULL, out_error));
    EXPECT(SS_STATUS_OK, ss_rename_session_if(store, "s", "name", NULL, (uint64_t)v2, &json, &len, out_error));
    long long v3 = version_of(json);
    CHECK(v3 == 3 && contains(json, "\"session_name\":\"name\""));
    ss_string_free(json);
    EXPECT(SS_STATUS_NOT_FOUND, ss_rename_session_if(store, "nope", "x", NULL, 0, NULL, NULL, out_error));
    EXPECT(SS_STATUS_VERSION_MISMATCH, ss_delete_session_if(store, "s", NULL, (uint64_t)v2, &removed, out_error));
    EXPECT(SS_STATUS_OK, ss_delete_session_if(store, "nope", NULL, 0, &removed, out_error));
    CHECK(removed == 0);
    EXPECT(SS_STATUS_OK, ss_delete_session_if(store, "s", NULL, (uint64_t)v3, &removed, out_error));
    CHECK(removed == 1);
    /* NULL arguments. */
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_upsert_if(NULL, s, strlen(s), 0, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_upsert_if(store, NULL, 3, 0, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_rename_session_if(store, NULL, "x", NULL, 0, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_rename_session_if(store, "s", NULL, NULL, 0, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_delete_session_if(store, NULL, NULL, 0, &removed, out_error));
    ss_store_close(store);
}

struct appender {
    ss_store *store;
    int id, failures;
};

enum { APPENDERS = 4, APPENDS = 100 };

static void *append_many(void *arg) {
    struct appender *a = arg;
    char run[64];
    for (int i = 0; i < APPENDS; i++) {
        snprintf(run, sizeof run, "[{\"t\":%d,\"i\":%d}]", a->id, i);
        if (ss_append_runs(a->store, "s", NULL, run, strlen(run), NULL, NULL, NULL) != SS_STATUS_OK) {
            a->failures++;
        }
    }
    return NULL;
}

static void test_append_runs(void) {
    ss_store *store = open_store(NULL);
    char *json = NULL;
    size_t len = 0;
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"s\",\"memory\":{\"runs\":[{\"n\":0}]}}", out_error));
    const char *runs = "[{\"n\":1},{\"n\":2}]";
    EXPECT(SS_STATUS_OK, ss_append_runs(store, "s", NULL, runs, strlen(runs), &json, &len, out_error));
    CHECK(contains(json, "\"memory\":{\"runs\":[{\"n\":0},{\"n\":1},{\"n\":2}]}") && len == strlen(json));
    ss_string_free(json);
    EXPECT(SS_STATUS_NOT_FOUND, ss_append_runs(store, "nope", NULL, runs, strlen(runs), NULL, NULL, out_error));
    EXPECT(SS_STATUS_NOT_FOUND, ss_append_runs(store, "s", "someone", runs, strlen(runs), NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_append_runs(store, "s", NULL, "[]", 2, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_append_runs(store, "s", NULL, "{}", 2, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_JSON, ss_append_runs(store, "s", NULL, "[1", 2, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_JSON, ss_append_runs(store, "s", NULL, "[\"\xff\"]", 5, NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_append_runs(store, NULL, NULL, runs, strlen(runs), NULL, NULL, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_append_runs(store, "s", NULL, NULL, 3, NULL, NULL, out_error));
    /* Concurrent appends from several threads all land. */
    pthread_t threads[APPENDERS];
    struct appender appenders[APPENDERS];
    for (int i = 0; i < APPENDERS; i++) {
        appenders[i] = (struct appender){store, i, 0};
        pthread_create(&threads[i], NULL, append_many, &appenders[i]);
    }
    for (int i = 0; i < APPENDERS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(appenders[i].failures == 0);
    }
    EXPECT(SS_STATUS_OK, ss_read(store, "s", NULL, &json, NULL, out_error));
    int found = 0;
    for (const char *p = json; (p = strstr(p, "\"t\":")) != NULL; p++) {
        found++;
    }
    CHECK(found == APPENDERS * APPENDS);
    ss_string_free(json);
    ss_store_close(store);
}

static void test_changes_and_export_with_seq(void) {
    const char *config = "{\"feed_bytes\":400}";
    ss_store *store = open_store(config);
    char *json = NULL;
    size_t len = 0, removed = 0;
    uint64_t seq = 99;
    EXPECT(SS_STATUS_OK, ss_changes(store, 0, 10, NULL, 0, &json, &len, out_error));
    CHECK(json != NULL && strncmp(json, "{\"changes\":[],\"next\":0,\"latest\":0,\"store\":\"", 43) == 0 &&
          len == strlen(json) && len == 43 + 32 + 2);
    ss_string_free(json);
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"a\"}", out_error));
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"b\"}", out_error));
    EXPECT(SS_STATUS_OK, ss_delete_session(store, "a", NULL, &removed, out_error));
    EXPECT(SS_STATUS_OK, ss_export_with_seq(store, &json, &len, &seq, out_error));
    CHECK(seq == 3 && contains(json, "\"b\":{") && !contains(json, "\"a\":{"));
    ss_string_free(json);
    EXPECT(SS_STATUS_OK, ss_changes(store, 1, 10, NULL, 0, &json, &len, out_error));
    CHECK(contains(json, "{\"seq\":2,\"op\":\"upsert\",\"session_type\":\"agent\",\"session_id\":\"b\",\"version\":2,\"session\":{"));
    CHECK(contains(json, "{\"seq\":3,\"op\":\"delete\",\"session_type\":\"agent\",\"session_id\":\"a\"}"));
    CHECK(contains(json, "\"next\":3,\"latest\":3,\"store\":\""));
    ss_string_free(json);
    const char *ids_only = "{\"ids_only\":true}";
    EXPECT(SS_STATUS_OK, ss_changes(store, 1, 1, ids_only, strlen(ids_only), &json, &len, out_error));
    CHECK(strncmp(json, "{\"changes\":[{\"seq\":2,\"op\":\"upsert\",\"session_type\":\"agent\",\"session_id\":\"b\",\"version\":2}],\"next\":2,\"latest\":3,\"store\":\"", 118) == 0);
    ss_string_free(json);
    /* A small feed drops the oldest changes: asking for them says to resynchronise. */
    for (int i = 0; i < 10; i++) {
        EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"c\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}", out_error));
    }
    json = NULL;
    EXPECT(SS_STATUS_FEED_TRUNCATED, ss_changes(store, 0, 10, NULL, 0, &json, &len, out_error));
    CHECK(json == NULL);
    EXPECT(SS_STATUS_FEED_TRUNCATED, ss_changes(store, 100, 10, NULL, 0, &json, &len, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_changes(store, 0, 0, NULL, 0, &json, &len, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_changes(store, 12, 10, "{\"x\":1}", 7, &json, &len, out_error));
    EXPECT(SS_STATUS_INVALID_JSON, ss_changes(store, 12, 10, "{", 1, &json, &len, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_changes(NULL, 0, 1, NULL, 0, &json, &len, out_error));
    EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_export_with_seq(NULL, &json, &len, &seq, out_error));
    EXPECT(SS_STATUS_OK, ss_stats(store, &json, &len, out_error));
    CHECK(contains(json, "\"feed\":{\"store\":\"") && contains(json, "\"latest\":13,") && contains(json, "\"budget\":400}"));
    ss_string_free(json);
    ss_store_close(store);
}

/* Bounds without a test clock: expiry through sessions stamped in the past (an import keeps
 * "updated_at"; "created_at" may be given), eviction and refusal through counts. */
static void test_bounds(void) {
    char *json = NULL;
    size_t len = 0;
    const char *bad[] = {"{\"when_full\":\"drop\"}", "{\"refresh_on_read\":true}", "{\"max_sessions\":-1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ss_store *none = NULL;
        EXPECT(SS_STATUS_INVALID_ARGUMENT, ss_store_open(bad[i], strlen(bad[i]), &none, out_error));
        CHECK(none == NULL);
    }

    ss_store *store = open_store("{\"idle_expiry_s\":3600,\"max_age_s\":86400,\"max_sessions\":3}");
    const char *old = "{\"stale\":{\"session_id\":\"stale\",\"session_type\":\"agent\",\"updated_at\":1000}}";
    EXPECT(SS_STATUS_OK, ss_import(store, old, strlen(old), NULL, out_error));
    EXPECT(SS_STATUS_NOT_FOUND, ss_read(store, "stale", NULL, &json, &len, out_error));
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"ancient\",\"created_at\":1000}", out_error));
    EXPECT(SS_STATUS_NOT_FOUND, ss_read(store, "ancient", NULL, &json, &len, out_error));
    EXPECT(SS_STATUS_OK, ss_get_all_session_ids(store, NULL, NULL, &json, &len, out_error));
    CHECK(strcmp(json, "[]") == 0);
    ss_string_free(json);
    /* Three live sessions fit; a fourth evicts the least recently written (the expired go first). */
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"a\"}", out_error));
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"b\"}", out_error));
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"c\"}", out_error));
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"a\"}", out_error));
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"d\"}", out_error));
    EXPECT(SS_STATUS_OK, ss_get_all_session_ids(store, NULL, NULL, &json, &len, out_error));
    CHECK(strcmp(json, "[\"a\",\"c\",\"d\"]") == 0);
    ss_string_free(json);
    EXPECT(SS_STATUS_OK, ss_stats(store, &json, &len, out_error));
    CHECK(contains(json, "\"bounds\":{\"sessions\":3,") && contains(json, "\"max_sessions\":3,") &&
          contains(json, "\"idle_expiry_s\":3600,\"max_age_s\":86400,\"refresh_on_read\":false,\"when_full\":\"evict\",\"expired\":2,\"evicted\":1}"));
    ss_string_free(json);
    EXPECT(SS_STATUS_OK, ss_changes(store, 0, 100, "{\"ids_only\":true}", 17, &json, &len, out_error));
    CHECK(contains(json, "\"op\":\"expire\",\"session_type\":\"agent\",\"session_id\":\"stale\"") &&
          contains(json, "\"op\":\"evict\",\"session_type\":\"agent\",\"session_id\":\"b\""));
    ss_string_free(json);
    ss_store_close(store);

    store = open_store("{\"user_max_sessions\":1,\"when_full\":\"refuse\"}");
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"a1\",\"user_id\":\"ava\"}", out_error));
    char *err = NULL;
    CHECK(upsert(store, "{\"session_id\":\"a2\",\"user_id\":\"ava\"}", &err) == SS_STATUS_FULL);
    CHECK(contains(err, "user_max_sessions 1"));
    ss_string_free(err);
    EXPECT(SS_STATUS_OK, upsert(store, "{\"session_id\":\"b1\",\"user_id\":\"bob\"}", out_error));
    EXPECT(SS_STATUS_NOT_FOUND, ss_read(store, "a2", NULL, &json, &len, out_error));
    ss_store_close(store);
}

int main(void) {
    test_version_and_status_text();
    test_open_share_close();
    test_upsert_and_read();
    test_too_large();
    test_upsert_many();
    test_modes_and_conflicts();
    test_listings();
    test_rename_delete_drop_stats();
    test_ownership();
    test_export_import();
    test_threads();
    test_versions_and_conditional_writes();
    test_append_runs();
    test_changes_and_export_with_seq();
    test_bounds();
    printf("c-api: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
