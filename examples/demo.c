/* A walk through Agno's InMemoryStorage cookbook with sessionstore's C API:
 *   1. an agent keeps its session within a program, turn after turn;
 *   2. a second handle on the same store sees the first one's sessions;
 *   3. team and workflow sessions live beside agent sessions, each handle seeing its own type;
 *   4. the whole store is exported to a file, loaded into a new store, and the conversation goes on.
 * Build and run it with `make demo`. */
#include "sessionstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stops the demo with the library's message when a call fails. */
static void check(ss_status status, char *error, const char *what) {
    if (status != SS_STATUS_OK) {
        fprintf(stderr, "%s failed: %s (%s)\n", what, ss_status_str(status), error ? error : "");
        ss_string_free(error);
        exit(1);
    }
}

static ss_store *open_store(const char *config) {
    ss_store *store = NULL;
    char *error = NULL;
    check(ss_store_open(config, config ? strlen(config) : 0, &store, &error), error, "ss_store_open");
    return store;
}

static void upsert(ss_store *store, const char *json) {
    char *error = NULL;
    check(ss_upsert(store, json, strlen(json), NULL, NULL, &error), error, "ss_upsert");
}

/* Prints a JSON result under a caption, then frees it. */
static void show(const char *caption, char *json) {
    printf("   %s\n      %s\n", caption, json);
    ss_string_free(json);
}

int main(void) {
    char *json = NULL, *error = NULL;
    printf("sessionstore %s: Agno's in-memory storage cookbook, from C\n\n", ss_version());

    printf("1. An agent keeps its session within a program\n");
    ss_store *agents = open_store("{\"mode\":\"agent\"}");
    upsert(agents,
           "{\"session_id\":\"trip-1\",\"user_id\":\"ava\",\"agent_id\":\"travel-agent\","
           "\"session_data\":{\"session_name\":\"Trip to Lisbon\"},"
           "\"memory\":{\"runs\":[{\"role\":\"user\",\"content\":\"Plan 3 days in Lisbon\"},"
           "{\"role\":\"assistant\",\"content\":\"Day 1: Alfama. Day 2: Belem. Day 3: Sintra.\"}]}}");
    check(ss_read(agents, "trip-1", "ava", &json, NULL, &error), error, "ss_read");
    show("after turn 1, ss_read(\"trip-1\", user \"ava\") returns:", json);
    /* The next turn rewrites the session with the longer transcript; created_at is kept. */
    upsert(agents,
           "{\"session_id\":\"trip-1\",\"user_id\":\"ava\",\"agent_id\":\"travel-agent\","
           "\"session_data\":{\"session_name\":\"Trip to Lisbon\"},"
           "\"memory\":{\"runs\":[{\"role\":\"user\",\"content\":\"Plan 3 days in Lisbon\"},"
           "{\"role\":\"assistant\",\"content\":\"Day 1: Alfama. Day 2: Belem. Day 3: Sintra.\"},"
           "{\"role\":\"user\",\"content\":\"Where should I eat in Alfama?\"},"
           "{\"role\":\"assistant\",\"content\":\"Try a tasca near the cathedral.\"}]}}");
    check(ss_read(agents, "trip-1", NULL, &json, NULL, &error), error, "ss_read");
    show("after turn 2, the same session holds four messages:", json);
    ss_status status = ss_read(agents, "trip-1", "bob", &json, NULL, &error);
    printf("   ss_read(\"trip-1\", user \"bob\") -> %s: %s\n\n", ss_status_str(status), error);
    ss_string_free(error);
    error = NULL;

    printf("2. A second handle on the same store sees the first one's sessions\n");
    ss_store *second = NULL;
    check(ss_store_share(agents, NULL, &second, &error), error, "ss_store_share");
    upsert(second, "{\"session_id\":\"trip-2\",\"user_id\":\"ava\",\"agent_id\":\"travel-agent\","
                   "\"session_data\":{\"session_name\":\"Weekend in Porto\"}}");
    check(ss_get_all_session_ids(agents, "ava", "travel-agent", &json, NULL, &error), error, "ids");
    show("ss_get_all_session_ids(user \"ava\", agent \"travel-agent\") on the first handle:", json);
    check(ss_get_recent_sessions(agents, "ava", NULL, 1, &json, NULL, &error), error, "recent");
    show("ss_get_recent_sessions(user \"ava\", limit 1): the newest session", json);
    const char *query = "{\"session_name\":\"lisbon\",\"limit\":20}";
    check(ss_query(agents, query, strlen(query), &json, NULL, &error), error, "ss_query");
    show("ss_query({\"session_name\":\"lisbon\"}) finds names case-insensitively, with a total:", json);
    printf("\n");

    printf("3. Team and workflow sessions share the store, each handle seeing its own type\n");
    ss_store *teams = NULL, *workflows = NULL;
    check(ss_store_share(agents, "team", &teams, &error), error, "share team");
    check(ss_store_share(agents, "workflow", &workflows, &error), error, "share workflow");
    upsert(teams, "{\"session_id\":\"research-1\",\"user_id\":\"ava\",\"team_id\":\"research-team\","
                  "\"team_data\":{\"members\":[\"searcher\",\"writer\"]},"
                  "\"memory\":{\"runs\":[{\"role\":\"user\",\"content\":\"Summarise today's AI news\"}]}}");
    upsert(workflows, "{\"session_id\":\"blog-1\",\"user_id\":\"ava\",\"workflow_id\":\"blog-writer\","
                      "\"workflow_data\":{\"steps\":[\"research\",\"draft\",\"edit\"]}}");
    check(ss_get_all_session_ids(teams, "ava", NULL, &json, NULL, &error), error, "team ids");
    show("team handle, user \"ava\":", json);
    check(ss_get_all_session_ids(workflows, "ava", NULL, &json, NULL, &error), error, "workflow ids");
    show("workflow handle, user \"ava\":", json);
    const char *taken = "{\"session_id\":\"trip-1\"}";
    status = ss_upsert(teams, taken, strlen(taken), NULL, NULL, &error);
    printf("   a team session may not take the agent session's id: %s: %s\n", ss_status_str(status), error);
    ss_string_free(error);
    error = NULL;
    check(ss_stats(agents, &json, NULL, &error), error, "ss_stats");
    show("ss_stats:", json);
    printf("\n");

    printf("4. Export to a file, load into a new store, and continue the conversation\n");
    size_t len = 0;
    check(ss_export(agents, &json, &len, &error), error, "ss_export");
    const char *path = "target/demo-sessions.json";
    FILE *file = fopen(path, "wb");
    if (file == NULL || fwrite(json, 1, len, file) != len || fclose(file) != 0) {
        perror(path);
        return 1;
    }
    printf("   wrote %zu bytes of {session_id: session} to %s\n", len, path);
    ss_string_free(json);
    ss_store_close(workflows);
    ss_store_close(teams);
    ss_store_close(second);
    ss_store_close(agents);
    printf("   closed every handle: the first store is gone\n");

    file = fopen(path, "rb");
    char *saved = malloc(len);
    if (file == NULL || saved == NULL || fread(saved, 1, len, file) != len) {
        perror(path);
        return 1;
    }
    fclose(file);
    ss_store *restored = open_store(NULL);
    size_t count = 0;
    check(ss_import(restored, saved, len, &count, &error), error, "ss_import");
    free(saved);
    printf("   ss_import loaded %zu sessions into a new store\n", count);
    upsert(restored,
           "{\"session_id\":\"trip-1\",\"user_id\":\"ava\",\"agent_id\":\"travel-agent\","
           "\"session_data\":{\"session_name\":\"Trip to Lisbon\"},"
           "\"memory\":{\"runs\":[{\"role\":\"user\",\"content\":\"Plan 3 days in Lisbon\"},"
           "{\"role\":\"assistant\",\"content\":\"Day 1: Alfama. Day 2: Belem. Day 3: Sintra.\"},"
           "{\"role\":\"user\",\"content\":\"Where should I eat in Alfama?\"},"
           "{\"role\":\"assistant\",\"content\":\"Try a tasca near the cathedral.\"},"
           "{\"role\":\"user\",\"content\":\"And a day trip by train?\"},"
           "{\"role\":\"assistant\",\"content\":\"Cascais is 40 minutes away.\"}]}}");
    check(ss_rename_session(restored, "trip-1", "Lisbon and Cascais", NULL, &json, NULL, &error), error, "rename");
    show("the conversation continues in the new store (third turn, then renamed):", json);
    ss_store_close(restored);
    printf("\ndone\n");
    return 0;
}
