/*
 * The "redis" row: Redis 7 on loopback holding the same sessions, called from C through hiredis over one
 * connection, one command at a time (no pipelining). A C client measures Redis itself, not a slow client.
 *
 * Layout (answers the same queries as the store):
 *   s:<id>       string: the session's JSON
 *   u:<user>     sorted set of the user's session ids, scored by created_at
 *   e:<agent>    sorted set of the agent's session ids, scored by created_at
 *   all          sorted set of every id by created_at (the export's order)
 *   upd          sorted set of every id by updated_at (the query's sort)
 *   names        hash id -> lower-cased session_name (the query's filter)
 * Operations that touch several keys run as one server-side Lua script (EVALSHA), so that each call is
 * one round trip: the fastest Redis can answer them without pipelining.
 *   read    GET s:<id>
 *   upsert  EVALSHA upsert (SET + 4 ZADD + HSET); the client finds user, agent, times and name in the JSON
 *   recent  EVALSHA recent (ZREVRANGE u:<user> 0 4 + MGET); the client joins the replies into a JSON array
 *   ids     ZRANGE e:<agent> 0 -1
 *   query   EVALSHA query (walks `upd` newest first, filters names with a plain substring find, MGETs the page)
 *   export  ZRANGE all 0 -1, then MGET 1000 keys at a time, joined into {"id":session,...}
 *   import  the export text split into records by the client, EVALSHA of the upsert logic 1000 records at a
 *           time, into an emptied database (SELECT 1 + FLUSHDB, untimed)
 * Loading uses the import path (untimed). Memory is the redis-server process's RSS growth.
 *
 *   redis_driver --data DIR --redis-port PORT [--ops ...] [--time-cap S] [--max-samples N] [--big-samples N]
 */
#include "harness.h"

#include <ctype.h>
#include <hiredis/hiredis.h>

static redisContext *rc;
static char sha_upsert[64], sha_batch[64], sha_recent[64], sha_query[64];
static long redis_pid;

static const char *UPSERT_LUA =
    "local id = ARGV[1]\n"
    "redis.call('SET', 's:'..id, ARGV[2])\n"
    "if ARGV[3] ~= '' then redis.call('ZADD', 'u:'..ARGV[3], ARGV[5], id) end\n"
    "if ARGV[4] ~= '' then redis.call('ZADD', 'e:'..ARGV[4], ARGV[5], id) end\n"
    "redis.call('ZADD', 'all', ARGV[5], id)\n"
    "redis.call('ZADD', 'upd', ARGV[6], id)\n"
    "redis.call('HSET', 'names', id, ARGV[7])\n"
    "return 1\n";

static const char *BATCH_LUA =
    "for i = 1, #ARGV, 7 do\n"
    "  local id = ARGV[i]\n"
    "  redis.call('SET', 's:'..id, ARGV[i+1])\n"
    "  if ARGV[i+2] ~= '' then redis.call('ZADD', 'u:'..ARGV[i+2], ARGV[i+4], id) end\n"
    "  if ARGV[i+3] ~= '' then redis.call('ZADD', 'e:'..ARGV[i+3], ARGV[i+4], id) end\n"
    "  redis.call('ZADD', 'all', ARGV[i+4], id)\n"
    "  redis.call('ZADD', 'upd', ARGV[i+5], id)\n"
    "  redis.call('HSET', 'names', id, ARGV[i+6])\n"
    "end\n"
    "return #ARGV / 7\n";

static const char *RECENT_LUA =
    "local ids = redis.call('ZREVRANGE', 'u:'..ARGV[1], 0, tonumber(ARGV[2]) - 1)\n"
    "if #ids == 0 then return {} end\n"
    "for i = 1, #ids do ids[i] = 's:'..ids[i] end\n"
    "return redis.call('MGET', unpack(ids))\n";

static const char *QUERY_LUA =
    "local ids = redis.call('ZREVRANGE', 'upd', 0, -1)\n"
    "local needle, offset, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local total, page = 0, {}\n"
    "for i = 1, #ids do\n"
    "  local name = redis.call('HGET', 'names', ids[i])\n"
    "  if name and string.find(name, needle, 1, true) then\n"
    "    total = total + 1\n"
    "    if total > offset and #page < limit then page[#page + 1] = 's:'..ids[i] end\n"
    "  end\n"
    "end\n"
    "local out = {total}\n"
    "if #page > 0 then\n"
    "  local docs = redis.call('MGET', unpack(page))\n"
    "  for i = 1, #docs do out[#out + 1] = docs[i] end\n"
    "end\n"
    "return out\n";

static redisReply *cmd(int argc, const char **argv, const size_t *lens) {
    redisReply *r = redisCommandArgv(rc, argc, argv, lens);
    if (!r) die("redis: %s", rc->errstr);
    if (r->type == REDIS_REPLY_ERROR) die("redis: %s (command %s)", r->str, argv[0]);
    return r;
}

static redisReply *cmd2(const char *a, const char *b) {
    const char *argv[2] = {a, b};
    size_t lens[2] = {strlen(a), b ? strlen(b) : 0};
    return cmd(b ? 2 : 1, argv, lens);
}

static void load_script(const char *src, char *sha) {
    const char *argv[3] = {"SCRIPT", "LOAD", src};
    size_t lens[3] = {6, 4, strlen(src)};
    redisReply *r = cmd(3, argv, lens);
    snprintf(sha, 64, "%s", r->str);
    freeReplyObject(r);
}

/* ---- the client's side of an upsert: the indexed fields of a session, found in its text ---- */

typedef struct {
    const char *id, *user, *agent, *name;
    size_t id_len, user_len, agent_len, name_len;
    char created[24], updated[24];
    char name_lower[256];
} fields_t;

/* The string value of the first "key":"..." in [p, end) (the generator writes well-known fields first). */
static const char *str_field(const char *p, const char *end, const char *key, size_t *len) {
    char pat[64];
    int n = snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *at = memmem(p, (size_t)(end - p), pat, (size_t)n);
    if (!at) {
        *len = 0;
        return "";
    }
    at += n;
    const char *q = at;
    while (q < end && *q != '"') q += (*q == '\\') ? 2 : 1;
    *len = (size_t)(q - at);
    return at;
}

static void num_field(const char *p, const char *end, const char *key, char *out) {
    char pat[64];
    int n = snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = memmem(p, (size_t)(end - p), pat, (size_t)n);
    size_t k = 0;
    if (at) {
        at += n;
        while (at < end && k < 20 && (isdigit((unsigned char)*at) || *at == '-')) out[k++] = *at++;
    }
    if (k == 0) out[k++] = '0';
    out[k] = '\0';
}

static void find_fields(const char *json, size_t len, fields_t *f) {
    const char *end = json + len;
    f->id = str_field(json, end, "session_id", &f->id_len);
    f->user = str_field(json, end, "user_id", &f->user_len);
    f->agent = str_field(json, end, "agent_id", &f->agent_len);
    f->name = str_field(json, end, "session_name", &f->name_len);
    num_field(json, end, "created_at", f->created);
    num_field(json, end, "updated_at", f->updated);
    size_t n = f->name_len < sizeof f->name_lower - 1 ? f->name_len : sizeof f->name_lower - 1;
    for (size_t i = 0; i < n; i++) f->name_lower[i] = (char)tolower((unsigned char)f->name[i]);
    f->name_lower[n] = '\0';
    f->name_len = n;
}

static void push_fields(const fields_t *f, const char *json, size_t len, const char **argv, size_t *lens) {
    argv[0] = f->id, lens[0] = f->id_len;
    argv[1] = json, lens[1] = len;
    argv[2] = f->user, lens[2] = f->user_len;
    argv[3] = f->agent, lens[3] = f->agent_len;
    argv[4] = f->created, lens[4] = strlen(f->created);
    argv[5] = f->updated, lens[5] = strlen(f->updated);
    argv[6] = f->name_lower, lens[6] = f->name_len;
}

static void upsert(const char *json, size_t len) {
    fields_t f;
    find_fields(json, len, &f);
    const char *argv[10] = {"EVALSHA", sha_upsert, "0"};
    size_t lens[10] = {7, strlen(sha_upsert), 1};
    push_fields(&f, json, len, argv + 3, lens + 3);
    freeReplyObject(cmd(10, argv, lens));
}

/* ---- batched upserts (load and import): 1000 records per EVALSHA ---- */

enum { BATCH = 1000 };
typedef struct {
    const char *argv[3 + 7 * BATCH];
    size_t lens[3 + 7 * BATCH];
    fields_t fields[BATCH];
    char *copies[BATCH]; /* the loader's lines are reused, so it copies them */
    int count;
} batch_t;

static void batch_flush(batch_t *b) {
    if (b->count == 0) return;
    b->argv[0] = "EVALSHA", b->lens[0] = 7;
    b->argv[1] = sha_batch, b->lens[1] = strlen(sha_batch);
    b->argv[2] = "0", b->lens[2] = 1;
    freeReplyObject(cmd(3 + 7 * b->count, b->argv, b->lens));
    for (int i = 0; i < b->count; i++) {
        free(b->copies[i]);
        b->copies[i] = NULL;
    }
    b->count = 0;
}

static void batch_add(batch_t *b, const char *json, size_t len, int copy) {
    const char *text = json;
    if (copy) {
        char *c = malloc(len + 1);
        memcpy(c, json, len);
        c[len] = '\0';
        b->copies[b->count] = c;
        text = c;
    }
    fields_t *f = &b->fields[b->count];
    find_fields(text, len, f);
    push_fields(f, text, len, b->argv + 3 + 7 * b->count, b->lens + 3 + 7 * b->count);
    if (++b->count == BATCH) batch_flush(b);
}

static void load_one(const char *line, size_t len, void *ctx) { batch_add(ctx, line, len, 1); }

/* The end of the JSON value starting at p (an object), strings and nesting respected. */
static const char *value_end(const char *p, const char *end) {
    int depth = 0;
    while (p < end) {
        char c = *p++;
        if (c == '"') {
            while (p < end && *p != '"') p += (*p == '\\') ? 2 : 1;
            p++;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) return p;
        }
    }
    return end;
}

/* Imports an export text {"id":{...},...}: the client splits it, the server stores 1000 records a call. */
static size_t import_text(batch_t *b, const char *text, size_t len) {
    const char *p = text, *end = text + len;
    size_t n = 0;
    while (p < end && *p != '{') p++;
    p++;
    for (;;) {
        while (p < end && *p != '"' && *p != '}') p++;
        if (p >= end || *p == '}') break;
        p++; /* the key */
        while (p < end && *p != '"') p += (*p == '\\') ? 2 : 1;
        p++;
        while (p < end && *p != '{') p++; /* ':' then the record */
        const char *v = p;
        p = value_end(p, end);
        batch_add(b, v, (size_t)(p - v), 0);
        n++;
    }
    batch_flush(b);
    return n;
}

static char *export_text(size_t *out_len) {
    const char *zargv[4] = {"ZRANGE", "all", "0", "-1"};
    size_t zlens[4] = {6, 3, 1, 2};
    redisReply *ids = cmd(4, zargv, zlens);
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap);
    out[len++] = '{';
    const char *argv[1 + BATCH];
    size_t lens[1 + BATCH];
    char *keys[BATCH];
    argv[0] = "MGET", lens[0] = 4;
    for (size_t at = 0; at < ids->elements; at += BATCH) {
        size_t k = ids->elements - at < BATCH ? ids->elements - at : BATCH;
        for (size_t i = 0; i < k; i++) {
            redisReply *id = ids->element[at + i];
            keys[i] = malloc(id->len + 3);
            keys[i][0] = 's', keys[i][1] = ':';
            memcpy(keys[i] + 2, id->str, id->len);
            argv[1 + i] = keys[i], lens[1 + i] = id->len + 2;
        }
        redisReply *docs = cmd((int)(1 + k), argv, lens);
        for (size_t i = 0; i < k; i++) {
            redisReply *id = ids->element[at + i], *doc = docs->element[i];
            size_t need = len + id->len + doc->len + 8;
            if (need > cap) {
                while (need > cap) cap *= 2;
                out = realloc(out, cap);
            }
            if (len > 1) out[len++] = ',';
            out[len++] = '"';
            memcpy(out + len, id->str, id->len), len += id->len;
            out[len++] = '"', out[len++] = ':';
            memcpy(out + len, doc->str, doc->len), len += doc->len;
            free(keys[i]);
        }
        freeReplyObject(docs);
    }
    freeReplyObject(ids);
    out[len++] = '}';
    out[len] = '\0';
    *out_len = len;
    return out;
}

static long server_kb(const char *field) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/status", redis_pid);
    return status_kb(path, field);
}

static void select_db(const char *db) { freeReplyObject(cmd2("SELECT", db)); }
static void flushdb(void) { freeReplyObject(cmd2("FLUSHDB", NULL)); }

int main(int argc, char **argv) {
    args_t a = parse_args(argc, argv, "redis");
    if (a.redis_port <= 0) die("--redis-port is required");
    plan_t p = load_plan(a.data);
    bench_t b = {0};
    b.time_cap = a.time_cap;
    b.max_samples = a.max_samples;
    b.big_samples = a.big_samples;
    bench_init(&b, a.row, &p);
    char extra[128];

    rc = redisConnect(a.redis_host, a.redis_port);
    if (!rc || rc->err) die("cannot connect to redis on %s:%d: %s", a.redis_host, a.redis_port, rc ? rc->errstr : "");
    redisReply *info = cmd2("INFO", "server");
    const char *pid = strstr(info->str, "process_id:");
    redis_pid = pid ? strtol(pid + 11, NULL, 10) : 0;
    freeReplyObject(info);
    freeReplyObject(cmd2("FLUSHALL", NULL));
    load_script(UPSERT_LUA, sha_upsert);
    load_script(BATCH_LUA, sha_batch);
    load_script(RECENT_LUA, sha_recent);
    load_script(QUERY_LUA, sha_query);

    batch_t *batch = calloc(1, sizeof *batch);
    long base = server_kb("VmRSS:");
    uint64_t t0 = now_ns();
    size_t loaded;
    size_t json_bytes = stream_sessions(a.data, &loaded, load_one, batch);
    batch_flush(batch);
    double load_s = (double)(now_ns() - t0) / 1e9;
    emit_memory(a.row, &p, loaded, json_bytes, base, server_kb("VmRSS:"), server_kb("VmHWM:"), load_s);

    if (has_op(a.ops, "read")) {
        char key[256];
        snprintf(key, sizeof key, "s:%s", p.read_ids.items[0]);
        redisReply *r = cmd2("GET", key);
        snprintf(extra, sizeof extra, ",\"check\":%d", r->type == REDIS_REPLY_STRING && r->len > 0);
        freeReplyObject(r);
        BENCH_LOOP(&b, (size_t)-1, 200, {
            snprintf(key, sizeof key, "s:%s", p.read_ids.items[i % p.read_ids.count]);
            freeReplyObject(cmd2("GET", key));
        });
        bench_emit(&b, "read", extra);
    }
    if (has_op(a.ops, "recent")) {
        const char *rv[5] = {"EVALSHA", sha_recent, "0", NULL, "5"};
        size_t rl[5] = {7, strlen(sha_recent), 1, 0, 1};
        rv[3] = p.users.items[0], rl[3] = p.users.lens[0];
        redisReply *r = cmd(5, rv, rl);
        snprintf(extra, sizeof extra, ",\"check\":%zu", r->elements);
        freeReplyObject(r);
        char *json = malloc(1 << 20);
        BENCH_LOOP(&b, (size_t)-1, 200, {
            size_t u = i % p.users.count;
            rv[3] = p.users.items[u], rl[3] = p.users.lens[u];
            redisReply *rr = cmd(5, rv, rl);
            size_t len = 0;
            json[len++] = '[';
            for (size_t k = 0; k < rr->elements; k++) {
                if (k) json[len++] = ',';
                memcpy(json + len, rr->element[k]->str, rr->element[k]->len);
                len += rr->element[k]->len;
            }
            json[len++] = ']';
            freeReplyObject(rr);
        });
        free(json);
        bench_emit(&b, "recent", extra);
    }
    if (has_op(a.ops, "ids")) {
        const char *iv[4] = {"ZRANGE", NULL, "0", "-1"};
        size_t il[4] = {6, 0, 1, 2};
        char key[256];
        snprintf(key, sizeof key, "e:%s", p.entities.items[0]);
        iv[1] = key, il[1] = strlen(key);
        redisReply *r = cmd(4, iv, il);
        snprintf(extra, sizeof extra, ",\"check\":%zu", r->elements);
        freeReplyObject(r);
        BENCH_LOOP(&b, (size_t)-1, 3, {
            snprintf(key, sizeof key, "e:%s", p.entities.items[i % p.entities.count]);
            iv[1] = key, il[1] = strlen(key);
            freeReplyObject(cmd(4, iv, il));
        });
        bench_emit(&b, "ids", extra);
    }
    if (has_op(a.ops, "query")) {
        /* The query's needle, lower-cased, with offset and limit (the plan's queries all have them). */
        char (*needles)[128] = malloc(p.queries.count * sizeof *needles);
        for (size_t q = 0; q < p.queries.count; q++) {
            size_t len;
            const char *n = str_field(p.queries.items[q], p.queries.items[q] + p.queries.lens[q], "session_name", &len);
            if (len > 127) len = 127;
            for (size_t k = 0; k < len; k++) needles[q][k] = (char)tolower((unsigned char)n[k]);
            needles[q][len] = '\0';
        }
        const char *qv[6] = {"EVALSHA", sha_query, "0", NULL, "0", "20"};
        size_t ql[6] = {7, strlen(sha_query), 1, 0, 1, 2};
        qv[3] = needles[0], ql[3] = strlen(needles[0]);
        redisReply *r = cmd(6, qv, ql);
        snprintf(extra, sizeof extra, ",\"check\":%lld", r->elements ? r->element[0]->integer : -1);
        freeReplyObject(r);
        BENCH_LOOP(&b, (size_t)-1, 1, {
            size_t q = i % p.queries.count;
            qv[3] = needles[q], ql[3] = strlen(needles[q]);
            freeReplyObject(cmd(6, qv, ql));
        });
        free(needles);
        bench_emit(&b, "query", extra);
    }
    if (has_op(a.ops, "update")) {
        BENCH_LOOP(&b, (size_t)-1, 0, {
            size_t u = i % p.updates.count;
            upsert(p.updates.items[u], p.updates.lens[u]);
        });
        bench_emit(&b, "update", NULL);
    }
    if (has_op(a.ops, "insert")) {
        BENCH_LOOP(&b, p.inserts.count, 0, { upsert(p.inserts.items[i], p.inserts.lens[i]); });
        bench_emit(&b, "insert", NULL);
    }
    char *exported = NULL;
    size_t exported_len = 0;
    if (has_op(a.ops, "export") || has_op(a.ops, "import")) {
        deadline_arm(&b, "export", a.deadline_s);
        exported = export_text(&exported_len);
        deadline_disarm();
    }
    if (has_op(a.ops, "export")) {
        snprintf(extra, sizeof extra, ",\"bytes\":%zu", exported_len);
        char *o = NULL;
        size_t olen;
        deadline_arm(&b, "export", a.deadline_s);
        BENCH_BIG(&b, { free(o); }, { o = export_text(&olen); });
        deadline_disarm();
        bench_emit(&b, "export", extra);
    }
    if (has_op(a.ops, "import")) {
        snprintf(extra, sizeof extra, ",\"bytes\":%zu", exported_len);
        select_db("1");
        flushdb();
        deadline_arm(&b, "import", a.deadline_s);
        BENCH_BIG(&b, { flushdb(); }, { import_text(batch, exported, exported_len); });
        deadline_disarm();
        bench_emit(&b, "import", extra);
        select_db("0");
    }
    free(exported);
    free(batch);
    redisFree(rc);
    return 0;
}
