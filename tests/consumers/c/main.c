/* A C program built against an installed sessionstore with pkg-config:
 *   cc main.c $(pkg-config --cflags --libs sessionstore)
 * It checks that the header and the library it loads are the same version, then stores and reads a
 * session. */
#include <sessionstore.h>

#include <stdio.h>
#include <string.h>

static int fail(const char *what, ss_status st, char *err) {
  fprintf(stderr, "c consumer: %s: %s (%s)\n", what, err ? err : "", ss_status_str(st));
  ss_string_free(err);
  return 1;
}

int main(void) {
  if (strcmp(ss_version(), SS_VERSION_STRING) != 0) {
    fprintf(stderr, "c consumer: header %s but library %s\n", SS_VERSION_STRING, ss_version());
    return 1;
  }
  ss_store *store = NULL;
  char *err = NULL;
  ss_status st = ss_store_open("{\"mode\":\"agent\"}", 16, &store, &err);
  if (st != SS_STATUS_OK) return fail("ss_store_open", st, err);

  const char session[] = "{\"session_id\":\"c-1\",\"user_id\":\"ada\",\"agent_id\":\"helper\"}";
  st = ss_upsert(store, session, sizeof session - 1, NULL, NULL, &err);
  if (st != SS_STATUS_OK) return fail("ss_upsert", st, err);

  char *json = NULL;
  size_t len = 0;
  st = ss_read(store, "c-1", "ada", &json, &len, &err);
  if (st != SS_STATUS_OK) return fail("ss_read", st, err);
  int ok = len == strlen(json) && strstr(json, "\"session_type\":\"agent\"") != NULL;
  printf("c consumer: sessionstore %s (header %s, number %d): %s\n", ss_version(), SS_VERSION_STRING,
         SS_VERSION_NUMBER, json);
  ss_string_free(json);

  st = ss_read(store, "c-1", "someone-else", &json, &len, &err);
  if (st != SS_STATUS_NOT_FOUND) return fail("ss_read of another user's session", st, err);
  ss_string_free(err);

  ss_store_close(store);
  return ok ? 0 : 1;
}
