/* A conversation that survives a restart: a durable store in a directory.
 *
 *   durable DIR [exit-without-closing]
 *
 * Each run opens the store in DIR, says what the open recovered, adds one turn to the conversation
 * "trip-1" and prints it. With "exit-without-closing", the program then ends with _exit(), as a crash
 * would: nothing is flushed or closed, and the next run still finds every turn, because a mutation is
 * in the journal before it returns. `make demo` runs it three times on a fresh directory. */
#include "sessionstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check(ss_status status, char *error, const char *what) {
    if (status != SS_STATUS_OK) {
        fprintf(stderr, "%s failed: %s (%s)\n", what, ss_status_str(status), error ? error : "");
        ss_string_free(error);
        exit(1);
    }
}

static const char *const TURNS[][2] = {
    {"Plan 3 days in Lisbon", "Day 1: Alfama. Day 2: Belem. Day 3: Sintra."},
    {"Where should I eat in Alfama?", "Try a tasca near the cathedral."},
    {"And a day trip by train?", "Cascais is 40 minutes away."},
    {"What should I pack?", "Comfortable shoes: Lisbon is hilly."},
};
#define TURN_COUNT (sizeof TURNS / sizeof TURNS[0])

/* How many user turns a stored session holds (the demo writes them itself, one object per turn). */
static size_t turns_in(const char *json) {
    size_t n = 0;
    for (const char *p = json; (p = strstr(p, "\"role\":\"user\"")) != NULL; p++) {
        n++;
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [exit-without-closing]\n", argv[0]);
        return 2;
    }
    char config[4096];
    int n = snprintf(config, sizeof config, "{\"path\":\"%s\",\"sync\":\"always\"}", argv[1]);
    if (n < 0 || (size_t)n >= sizeof config || strpbrk(argv[1], "\"\\") != NULL) {
        fprintf(stderr, "DIR must be a short path without quotes or backslashes\n");
        return 2;
    }
    ss_store *store = NULL;
    char *error = NULL, *json = NULL;
    check(ss_store_open(config, strlen(config), &store, &error), error, "ss_store_open");
    check(ss_stats(store, &json, NULL, &error), error, "ss_stats");
    const char *recovery = strstr(json, "\"recovery\":");
    printf("opened %s: %s\n", argv[1], recovery ? recovery : json);
    ss_string_free(json);

    size_t done = 0;
    ss_status status = ss_read(store, "trip-1", NULL, &json, NULL, &error);
    if (status == SS_STATUS_OK) {
        done = turns_in(json);
        ss_string_free(json);
    } else if (status == SS_STATUS_NOT_FOUND) {
        ss_string_free(error);
        error = NULL;
    } else {
        check(status, error, "ss_read");
    }
    size_t turns = done < TURN_COUNT ? done + 1 : TURN_COUNT;

    /* The session with one more turn than stored. */
    char session[8192];
    size_t used = (size_t)snprintf(session, sizeof session,
                                   "{\"session_id\":\"trip-1\",\"user_id\":\"ava\",\"agent_id\":\"travel-agent\","
                                   "\"memory\":{\"runs\":[");
    for (size_t i = 0; i < turns; i++) {
        used += (size_t)snprintf(session + used, sizeof session - used,
                                 "%s{\"role\":\"user\",\"content\":\"%s\"},{\"role\":\"assistant\",\"content\":\"%s\"}",
                                 i ? "," : "", TURNS[i][0], TURNS[i][1]);
    }
    snprintf(session + used, sizeof session - used, "]}}");
    check(ss_upsert(store, session, strlen(session), NULL, NULL, &error), error, "ss_upsert");
    printf("turn %zu: user: %s\n        assistant: %s\n", turns, TURNS[turns - 1][0], TURNS[turns - 1][1]);

    if (argc > 2 && strcmp(argv[2], "exit-without-closing") == 0) {
        printf("exiting without closing the store (as a crash would)\n\n");
        fflush(stdout);
        _exit(0);
    }
    check(ss_store_sync(store, &error), error, "ss_store_sync");
    ss_store_close(store);
    printf("closed the store\n\n");
    return 0;
}
