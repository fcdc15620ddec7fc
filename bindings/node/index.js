'use strict';

// Node.js binding of sessionstore over koffi (C ABI: include/sessionstore.h).
//
// Memory rules followed here (see README.md, "Safety"):
// - every char * the library hands out (out_json, out_error) is decoded with an explicit byte length and then
//   freed with the library's own ss_string_free, never with koffi.free / libc free and never through 'str!';
// - the opaque ss_store * is a BigInt; close() nulls it before anything else, so a closed store never passes
//   a freed handle to C (calls after close throw a CLOSED SessionStoreError);
// - a FinalizationRegistry closes handles that were never closed, as a safety net only.
//
// Out-parameters: ss_store_open / ss_store_share use koffi.out(koffi.pointer(...)) arrays. The hot calls
// (read, upsert, listings...) write their out-parameters into a small per-library scratch block allocated once
// with koffi.alloc() and read back through a typed-array view: JS is single-threaded and these calls are
// synchronous and never call back into JS, so the block cannot be used by two calls at once. Measured with
// koffi 3.3.4 on a 1 KiB read, out-arrays cost ~850 ns per call, the scratch block ~230 ns.

const fs = require('node:fs');
const path = require('node:path');
const koffi = require('koffi');

const PACKAGE_VERSION = require('./package.json').version;

// ---------------------------------------------------------------------------------------------------------
// Status codes and errors
// ---------------------------------------------------------------------------------------------------------

/** Numeric statuses of the C ABI, plus CLOSED (-1), which only the bindings produce. */
const Status = Object.freeze({
  OK: 0,
  NOT_FOUND: 1,
  INVALID_ARGUMENT: 2,
  INVALID_JSON: 3,
  INVALID_SESSION: 4,
  CONFLICT: 5,
  TOO_LARGE: 6,
  INTERNAL: 7,
  CLOSED: -1,
});

const CODE_BY_STATUS = new Map([
  [1, 'NOT_FOUND'],
  [2, 'INVALID_ARGUMENT'],
  [3, 'INVALID_JSON'],
  [4, 'INVALID_SESSION'],
  [5, 'CONFLICT'],
  [6, 'TOO_LARGE'],
  [7, 'INTERNAL'],
  [-1, 'CLOSED'],
]);

/** Every failure of this package is a SessionStoreError (or one of its subclasses, one per code). */
class SessionStoreError extends Error {
  constructor(message, code, status, options) {
    super(message, options);
    this.name = 'SessionStoreError';
    /** @type {string} */
    this.code = code;
    /** @type {number} */
    this.status = status;
  }
}

function errorSubclass(name) {
  const cls = {
    [name]: class extends SessionStoreError {
      constructor(message, code, status, options) {
        super(message, code, status, options);
        this.name = name;
      }
    },
  }[name];
  return cls;
}

const NotFoundError = errorSubclass('NotFoundError');
const InvalidArgumentError = errorSubclass('InvalidArgumentError');
const InvalidJsonError = errorSubclass('InvalidJsonError');
const InvalidSessionError = errorSubclass('InvalidSessionError');
const ConflictError = errorSubclass('ConflictError');
const TooLargeError = errorSubclass('TooLargeError');
const InternalError = errorSubclass('InternalError');
const ClosedError = errorSubclass('ClosedError');

const CLASS_BY_CODE = {
  NOT_FOUND: NotFoundError,
  INVALID_ARGUMENT: InvalidArgumentError,
  INVALID_JSON: InvalidJsonError,
  INVALID_SESSION: InvalidSessionError,
  CONFLICT: ConflictError,
  TOO_LARGE: TooLargeError,
  INTERNAL: InternalError,
  CLOSED: ClosedError,
};

function makeError(status, message, options) {
  // A status this binding does not know (a newer library) is reported as INTERNAL with its real number.
  const code = CODE_BY_STATUS.get(status) || 'INTERNAL';
  const Cls = CLASS_BY_CODE[code];
  return new Cls(message, code, status, options);
}

function invalidArgument(message) {
  return makeError(Status.INVALID_ARGUMENT, message);
}

function closedError() {
  return makeError(Status.CLOSED, 'sessionstore: the store is closed');
}

// ---------------------------------------------------------------------------------------------------------
// Library lookup and binding
// ---------------------------------------------------------------------------------------------------------

const LIB_FILE =
  process.platform === 'win32'
    ? 'sessionstore.dll'
    : process.platform === 'darwin'
      ? 'libsessionstore.dylib'
      : 'libsessionstore.so';

/** Where the package looks for the library when no libraryPath and no SESSIONSTORE_LIB are given. */
const DEFAULT_LIBRARY_PATH = path.resolve(__dirname, '..', '..', 'target', 'release', LIB_FILE);

// The library's major.minor this binding was written for (0.x: minor changes may break the ABI).
const ABI_MAJOR = 0;
const ABI_MINOR = 1;

// koffi types are global to the koffi instance: declare them once.
const T_STORE = koffi.opaque('ss_store');
const T_STORE_PTR = koffi.pointer('ss_store_ptr', T_STORE);
const OUT_STORE = koffi.out(koffi.pointer(T_STORE_PTR));
const OUT_ERROR = koffi.out(koffi.pointer('void *'));

const loaded = new Map(); // resolved file -> Lib

function candidates(libraryPath) {
  const list = [];
  if (libraryPath !== undefined && libraryPath !== null) {
    if (typeof libraryPath !== 'string' || libraryPath === '') {
      throw invalidArgument('sessionstore: libraryPath must be a non-empty string');
    }
    list.push({ from: 'libraryPath option', file: path.resolve(libraryPath) });
  }
  const env = process.env.SESSIONSTORE_LIB;
  if (env) list.push({ from: 'SESSIONSTORE_LIB', file: path.resolve(env) });
  list.push({ from: 'build output', file: DEFAULT_LIBRARY_PATH });
  return list;
}

/**
 * Finds and binds the shared library: the libraryPath option, then $SESSIONSTORE_LIB, then the project's
 * build output (../../target/release/libsessionstore.so next to this package). A candidate that does not
 * exist is skipped; one that exists but cannot be loaded is an error (no silent fallback to another copy).
 */
function loadLibrary(libraryPath) {
  const tried = [];
  for (const c of candidates(libraryPath)) {
    const hit = loaded.get(c.file);
    if (hit) return hit;
    if (!fs.existsSync(c.file)) {
      tried.push(`  ${c.file} (${c.from}): not found`);
      continue;
    }
    let lib;
    try {
      lib = bindLibrary(c.file);
    } catch (e) {
      tried.push(`  ${c.file} (${c.from}): ${e && e.message ? e.message : e}`);
      throw makeError(
        Status.INTERNAL,
        `sessionstore: cannot load the native library:\n${tried.join('\n')}`,
        { cause: e },
      );
    }
    loaded.set(c.file, lib);
    return lib;
  }
  throw makeError(
    Status.INTERNAL,
    'sessionstore: cannot find the native library (' + LIB_FILE + '). Tried, in order:\n' +
      tried.join('\n') +
      '\nBuild it with `make -C <repo> lib` (or `cargo build --release`), set SESSIONSTORE_LIB, ' +
      'or pass { libraryPath }.',
  );
}

function bindLibrary(file) {
  const so = koffi.load(file);
  try {
    return bindFunctions(so, file);
  } catch (e) {
    if (typeof so.unload === 'function') so.unload();
    throw e;
  }
}

function bindFunctions(so, file) {
  const fn = (proto) => so.func(proto);

  const L = {
    file,
    // Scratch block for out-parameters: [0] char *out_json, [1] size_t out_len / out_removed / out_count,
    // [2] char *out_error.
    scratch: koffi.alloc('uint64_t', 3),
    version: fn('const char *ss_version(void)'),
    statusStr: fn('const char *ss_status_str(uint32_t status)'),
    free: fn('void ss_string_free(void *s)'),
    open: fn('uint32_t ss_store_open(const char *config_json, size_t config_len, _Out_ ss_store_ptr *out_store, _Out_ void **out_error)'),
    share: fn('uint32_t ss_store_share(const ss_store_ptr store, const char *mode, _Out_ ss_store_ptr *out_store, _Out_ void **out_error)'),
    close: fn('void ss_store_close(ss_store_ptr store)'),
    upsert: fn('uint32_t ss_upsert(ss_store_ptr store, const char *json, size_t len, void *out_json, void *out_len, void *out_error)'),
    upsertMany: fn('uint32_t ss_upsert_many(ss_store_ptr store, const char *json, size_t len, void *out_json, void *out_len, void *out_error)'),
    read: fn('uint32_t ss_read(const ss_store_ptr store, const char *session_id, const char *user_id, void *out_json, void *out_len, void *out_error)'),
    allIds: fn('uint32_t ss_get_all_session_ids(const ss_store_ptr store, const char *user_id, const char *entity_id, void *out_json, void *out_len, void *out_error)'),
    all: fn('uint32_t ss_get_all_sessions(const ss_store_ptr store, const char *user_id, const char *entity_id, void *out_json, void *out_len, void *out_error)'),
    recent: fn('uint32_t ss_get_recent_sessions(const ss_store_ptr store, const char *user_id, const char *entity_id, int64_t limit, void *out_json, void *out_len, void *out_error)'),
    query: fn('uint32_t ss_query(const ss_store_ptr store, const char *json, size_t len, void *out_json, void *out_len, void *out_error)'),
    rename: fn('uint32_t ss_rename_session(ss_store_ptr store, const char *session_id, const char *session_name, void *out_json, void *out_len, void *out_error)'),
    del: fn('uint32_t ss_delete_session(ss_store_ptr store, const char *session_id, void *out_removed, void *out_error)'),
    delMany: fn('uint32_t ss_delete_sessions(ss_store_ptr store, const char *json, size_t len, void *out_removed, void *out_error)'),
    drop: fn('uint32_t ss_drop(ss_store_ptr store, void *out_removed, void *out_error)'),
    stats: fn('uint32_t ss_stats(const ss_store_ptr store, void *out_json, void *out_len, void *out_error)'),
    export: fn('uint32_t ss_export(const ss_store_ptr store, void *out_json, void *out_len, void *out_error)'),
    import: fn('uint32_t ss_import(ss_store_ptr store, const char *json, size_t len, void *out_count, void *out_error)'),
  };
  const base = L.scratch;
  L.pJson = base;
  L.pLen = base + 8n;
  L.pErr = base + 16n;
  L.slots = new BigUint64Array(koffi.view(base, 24));
  L.u32 = new Uint32Array(L.slots.buffer, L.slots.byteOffset, 6);
  L.slots.fill(0n);

  const v = L.version();
  const m = /^(\d+)\.(\d+)\./.exec(v || '');
  if (!m || Number(m[1]) !== ABI_MAJOR || (ABI_MAJOR === 0 && Number(m[2]) !== ABI_MINOR)) {
    throw new Error(
      `library version ${v} is not compatible with this binding (expects ${ABI_MAJOR}.${ABI_MINOR}.x)`,
    );
  }
  L.libVersion = v;
  return L;
}

// --- decoding of what the library returns (always freed with ss_string_free) ----------------------------

// The size_t slot [1] read as two 32-bit halves (no BigInt on the hot path), in the platform's byte order.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LEN_LO = LITTLE_ENDIAN ? 2 : 3;
const LEN_HI = LITTLE_ENDIAN ? 3 : 2;

/** Takes the string in the out_json slot (after a successful call): decodes it, frees it, clears the slot. */
function takeJson(L) {
  const p = L.slots[0];
  const len = L.u32[LEN_LO] + L.u32[LEN_HI] * 4294967296;
  L.slots[0] = 0n;
  if (p === 0n) throw makeError(Status.INTERNAL, 'sessionstore: the library returned no JSON');
  try {
    return koffi.decode.string(p, len);
  } catch (e) {
    // V8 strings are limited to ~512 Mi characters.
    throw makeError(
      Status.TOO_LARGE,
      `sessionstore: a result of ${len} bytes does not fit in a JavaScript string: ${e.message}`,
      { cause: e },
    );
  } finally {
    L.free(p);
  }
}

/** Reads the size_t written in the count slot (out_removed / out_count). */
function takeCount(L) {
  const n = L.u32[LEN_LO] + L.u32[LEN_HI] * 4294967296;
  L.slots[1] = 0n;
  return n;
}

/** Decodes and frees an owned error message pointer (may be 0). */
function errorText(L, status, p) {
  if (p === 0n || p === null || p === undefined) {
    return L.statusStr(status) || 'unknown status';
  }
  try {
    return koffi.decode.string(p);
  } finally {
    L.free(p);
  }
}

/** Builds the error for a failed call whose message is in the out_error slot. */
function takeError(L, status) {
  const p = L.slots[2];
  L.slots[2] = 0n;
  L.slots[0] = 0n;
  L.slots[1] = 0n;
  return makeError(status, errorText(L, status, p));
}

/** Frees the message of a failure that is turned into a non-error result (read: NOT_FOUND -> null). */
function dropError(L) {
  const p = L.slots[2];
  L.slots[2] = 0n;
  if (p !== 0n) L.free(p);
}

// --- argument checks --------------------------------------------------------------------------------------

function reqString(value, what) {
  if (typeof value !== 'string') throw invalidArgument(`${what} must be a string, got ${describe(value)}`);
  if (value.indexOf('\0') !== -1) throw invalidArgument(`${what} must not contain NUL characters`);
  return value;
}

function optString(value, what) {
  if (value === undefined || value === null) return null;
  return reqString(value, what);
}

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** A raw payload: a string (its UTF-8 byte length is passed) or bytes (Buffer / Uint8Array). */
function payloadLength(value, what) {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (value instanceof Uint8Array) return value.byteLength;
  throw invalidArgument(`${what} must be a JSON string or a Buffer/Uint8Array, got ${describe(value)}`);
}

// koffi passes an empty buffer as NULL; send "" instead so the library reports the empty input as invalid JSON.
function payloadValue(value) {
  return typeof value !== 'string' && value.byteLength === 0 ? '' : value;
}

function stringify(value, what) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw makeError(Status.INVALID_JSON, `${what} cannot be serialised to JSON: ${e.message}`, { cause: e });
  }
  if (text === undefined) throw invalidArgument(`${what} must be a JSON value, got ${describe(value)}`);
  return text;
}

function filterArgs(options, what) {
  if (options === undefined || options === null) return [null, null];
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgument(`${what}: options must be an object like { userId, entityId }`);
  }
  return [optString(options.userId, 'userId'), optString(options.entityId, 'entityId')];
}

function limitArg(limit) {
  if (limit === undefined) return 2; // Agno's default
  if (limit === null) return -1; // Agno: limit=None means all
  if (typeof limit === 'bigint') return limit;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit)) {
    throw invalidArgument(`limit must be an integer (negative or null = all), got ${limit}`);
  }
  return limit;
}

const QUERY_KEYS = {
  userId: 'user_id',
  entityId: 'entity_id',
  sessionName: 'session_name',
  createdAfter: 'created_after',
  createdBefore: 'created_before',
  updatedAfter: 'updated_after',
  updatedBefore: 'updated_before',
  sortBy: 'sort_by',
  sortOrder: 'sort_order',
  limit: 'limit',
  offset: 'offset',
};

/**
 * camelCase query keys to the library's snake_case; other keys pass through (the library rejects unknown
 * ones). Date values become unix seconds.
 */
function queryJson(q) {
  if (q === undefined || q === null) return '{}';
  if (typeof q !== 'object' || Array.isArray(q)) throw invalidArgument('query must be an object');
  const out = {};
  for (const key of Object.keys(q)) {
    let value = q[key];
    if (value === undefined) continue;
    if (value instanceof Date) value = Math.floor(value.getTime() / 1000);
    const k = Object.prototype.hasOwnProperty.call(QUERY_KEYS, key) ? QUERY_KEYS[key] : key;
    if (Object.prototype.hasOwnProperty.call(out, k)) throw invalidArgument(`query: ${k} given twice`);
    out[k] = value;
  }
  return stringify(out, 'query');
}

const OPEN_OPTIONS = new Set(['mode', 'maxSessionBytes', 'libraryPath']);

// ---------------------------------------------------------------------------------------------------------
// SessionStore
// ---------------------------------------------------------------------------------------------------------

const registry = new FinalizationRegistry((held) => {
  // Safety net for stores that were never closed; close() unregisters.
  held.lib.close(held.handle);
});

const kAdopt = Symbol('sessionstore.adopt');

class SessionStore {
  #lib;
  #handle; // BigInt, or null once closed
  #mode;

  /**
   * Opens a new, empty store.
   * @param {{ mode?: string, maxSessionBytes?: number, libraryPath?: string }} [options]
   */
  constructor(options = {}) {
    if (options && options[kAdopt]) {
      const { lib, handle, mode } = options[kAdopt];
      this.#init(lib, handle, mode);
      return;
    }
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw invalidArgument('SessionStore options must be an object');
    }
    for (const key of Object.keys(options)) {
      if (!OPEN_OPTIONS.has(key)) {
        throw invalidArgument(`unknown SessionStore option "${key}" (known: mode, maxSessionBytes, libraryPath)`);
      }
    }
    const config = {};
    if (options.mode !== undefined && options.mode !== null) config.mode = reqString(options.mode, 'mode');
    if (options.maxSessionBytes !== undefined && options.maxSessionBytes !== null) {
      config.max_session_bytes = options.maxSessionBytes;
    }
    const lib = loadLibrary(options.libraryPath);
    const text = stringify(config, 'options');
    const outStore = [null];
    const outError = [null];
    const status = lib.open(text, Buffer.byteLength(text), outStore, outError);
    if (status !== 0) throw makeError(status, errorText(lib, status, outError[0]));
    this.#init(lib, outStore[0], config.mode || 'agent');
  }

  #init(lib, handle, mode) {
    if (handle === null || handle === undefined || handle === 0n) {
      throw makeError(Status.INTERNAL, 'sessionstore: the library returned a NULL store');
    }
    this.#lib = lib;
    this.#handle = handle;
    this.#mode = mode;
    registry.register(this, { lib, handle }, this);
  }

  /** Same as `new SessionStore(options)`. */
  static open(options) {
    return new SessionStore(options);
  }

  /** The session type of this handle: 'agent', 'team', 'workflow' or 'workflow_v2'. */
  get mode() {
    return this.#mode;
  }

  /** True once close() was called. */
  get closed() {
    return this.#handle === null;
  }

  /** The shared library this store was opened from. */
  get libraryPath() {
    return this.#lib.file;
  }

  #h() {
    const h = this.#handle;
    if (h === null) throw closedError();
    return h;
  }

  // --- upsert -----------------------------------------------------------------------------------------------

  /** Stores a session (JSON text or bytes) and returns the stored JSON text. */
  upsertRaw(sessionJson) {
    const h = this.#h();
    const L = this.#lib;
    const len = payloadLength(sessionJson, 'session');
    const st = L.upsert(h, payloadValue(sessionJson), len, L.pJson, L.pLen, L.pErr);
    if (st !== 0) throw takeError(L, st);
    return takeJson(L);
  }

  /** Stores a session object; returns the stored session (with session_type, created_at, updated_at). */
  upsert(session) {
    return JSON.parse(this.upsertRaw(stringify(session, 'session')));
  }

  /** Stores a JSON array of sessions atomically; returns the JSON array of stored sessions. */
  upsertManyRaw(sessionsJson) {
    const h = this.#h();
    const L = this.#lib;
    const len = payloadLength(sessionsJson, 'sessions');
    const st = L.upsertMany(h, payloadValue(sessionsJson), len, L.pJson, L.pLen, L.pErr);
    if (st !== 0) throw takeError(L, st);
    return takeJson(L);
  }

  /** Stores an array of sessions atomically (all or none); returns the stored sessions in input order. */
  upsertMany(sessions) {
    if (!Array.isArray(sessions)) throw invalidArgument(`sessions must be an array, got ${describe(sessions)}`);
    return JSON.parse(this.upsertManyRaw(stringify(sessions, 'sessions')));
  }

  // --- read ---------------------------------------------------------------------------------------------------

  /** The stored JSON text of a session, or null when absent, of another type, or owned by another user. */
  readRaw(sessionId, userId) {
    const h = this.#h();
    const L = this.#lib;
    reqString(sessionId, 'sessionId');
    const uid = optString(userId, 'userId');
    const st = L.read(h, sessionId, uid, L.pJson, L.pLen, L.pErr);
    if (st === 0) return takeJson(L);
    if (st === Status.NOT_FOUND) {
      dropError(L);
      return null;
    }
    throw takeError(L, st);
  }

  /** The stored session, or null when absent, of another type, or owned by another user. */
  read(sessionId, userId) {
    const text = this.readRaw(sessionId, userId);
    return text === null ? null : JSON.parse(text);
  }

  // --- listings -----------------------------------------------------------------------------------------------

  /** JSON array text of the ids of this handle's type, first-insertion order. */
  getAllSessionIdsRaw(options) {
    const h = this.#h();
    const L = this.#lib;
    const [uid, eid] = filterArgs(options, 'getAllSessionIds');
    const st = L.allIds(h, uid, eid, L.pJson, L.pLen, L.pErr);
    if (st !== 0) throw takeError(L, st);
    return takeJson(L);
  }

  /** Ids of this handle's type, optionally filtered by user and entity, first-insertion order. */
  getAllSessionIds(options) {
    return JSON.parse(this.getAllSessionIdsRaw(options));
  }

  /** JSON array text of the sessions of this handle's type. */
  getAllSessionsRaw(options) {
    const h = this.#h();
    const L = this.#lib;
    const [uid, eid] = filterArgs(options, 'getAllSessions');
    const st = L.all(h, uid, eid, L.pJson, L.pLen, L.pErr);
    if (st !== 0) throw takeError(L, st);
    return takeJson(L);
  }

  /** Sessions of this handle's type, optionally filtered by user and entity, first-insertion order. */
  getAllSessions(options) {
    return JSON.parse(this.getAllSessionsRaw(options));
  }

  /** JSON array text of the newest sessions (limit default 2; negative or null = all). */
  getRecentSessionsRaw(options) {
    const h = this.#h();
    const L = this.#lib;
    const [uid, eid] = filterArgs(options, 'getRecentSessions');
    const limit = limitArg(options ? options.limit : undefined);
    const st = L.recent(h, uid, eid, limit, L.pJson, L.pLen, L.pErr);
    if (st !== 0) throw takeError(L, st);
    return takeJson(L);
  }

  /** Newest sessions first (by created_at; ties: most recently inserted first). */
  getRecentSessions(options) {
    return JSON.parse(this.getRecentSessionsRaw(options));
  }

  /** Runs a query given as JSON text/bytes (snake_case keys; null = {}); returns '{"sessions":[...],"total":N}'. */
  queryRaw(queryJsonText) {
    const h = this.#h();
    const L = this.#lib;
    let st;
    if (queryJsonText === undefined || queryJsonText === null) {
      st = L.query(h, null, 0, L.pJson, L.pLen, L.pErr);
    } else {
      const len = payloadLength(queryJsonText, 'query');
      st = L.query(h, payloadValue(queryJsonText), len, L.pJson, L.pLen, L.pErr);
    }
    if (st !== 0) throw takeError(L, st);
    return takeJson(L);
  }

  /**
   * Filters, sorts and pages the sessions of this handle's type. Keys in camelCase (userId, entityId,
   * sessionName, createdAfter, createdBefore, updatedAfter, updatedBefore, sortBy, sortOrder, limit, offset)
   * or the library's snake_case. Returns { sessions, total } (total before paging).
   */
  query(q) {
    return JSON.parse(this.queryRaw(queryJson(q)));
  }

  // --- rename / delete ----------------------------------------------------------------------------------------

  /** Sets session_data.session_name; returns the stored JSON text. */
  renameSessionRaw(sessionId, sessionName) {
    const h = this.#h();
    const L = this.#lib;
    reqString(sessionId, 'sessionId');
    reqString(sessionName, 'sessionName');
    const st = L.rename(h, sessionId, sessionName, L.pJson, L.pLen, L.pErr);
    if (st !== 0) throw takeError(L, st);
    return takeJson(L);
  }

  /** Sets session_data.session_name and returns the stored session; throws NOT_FOUND when absent. */
  renameSession(sessionId, sessionName) {
    return JSON.parse(this.renameSessionRaw(sessionId, sessionName));
  }

  /** Deletes one session of this handle's type; returns how many were removed (0 or 1). */
  deleteSession(sessionId) {
    const h = this.#h();
    const L = this.#lib;
    reqString(sessionId, 'sessionId');
    const st = L.del(h, sessionId, L.pLen, L.pErr);
    if (st !== 0) throw takeError(L, st);
    return takeCount(L);
  }

  /** Deletes the sessions whose ids are in a JSON array (text/bytes); returns how many were removed. */
  deleteSessionsRaw(idsJson) {
    const h = this.#h();
    const L = this.#lib;
    const len = payloadLength(idsJson, 'sessionIds');
    const st = L.delMany(h, payloadValue(idsJson), len, L.pLen, L.pErr);
    if (st !== 0) throw takeError(L, st);
    return takeCount(L);
  }

  /** Deletes sessions of this handle's type by id (absent ids are not errors); returns how many were removed. */
  deleteSessions(sessionIds) {
    if (!Array.isArray(sessionIds)) {
      throw invalidArgument(`sessionIds must be an array of strings, got ${describe(sessionIds)}`);
    }
    return this.deleteSessionsRaw(stringify(sessionIds, 'sessionIds'));
  }

  /** Removes every session of this handle's type; returns how many were removed. */
  drop() {
    const h = this.#h();
    const L = this.#lib;
    const st = L.drop(h, L.pLen, L.pErr);
    if (st !== 0) throw takeError(L, st);
    return takeCount(L);
  }

  // --- stats / export / import --------------------------------------------------------------------------------

  /** '{"mode":...,"sessions":N,"bytes":B,"by_type":{...}}' */
  statsRaw() {
    const h = this.#h();
    const L = this.#lib;
    const st = L.stats(h, L.pJson, L.pLen, L.pErr);
    if (st !== 0) throw takeError(L, st);
    return takeJson(L);
  }

  /** { mode, sessions, bytes, by_type: { agent, team, workflow, workflow_v2 } }: counts over every type. */
  stats() {
    return JSON.parse(this.statsRaw());
  }

  /** JSON text {"<session_id>": session, ...} of every session of every type (Agno's storage_dict shape). */
  exportRaw() {
    const h = this.#h();
    const L = this.#lib;
    const st = L.export(h, L.pJson, L.pLen, L.pErr);
    if (st !== 0) throw takeError(L, st);
    return takeJson(L);
  }

  /** Every session of every type, keyed by session_id. */
  export() {
    return JSON.parse(this.exportRaw());
  }

  /** Merges an export (JSON text/bytes) atomically; returns the number of records imported. */
  importRaw(dataJson) {
    const h = this.#h();
    const L = this.#lib;
    const len = payloadLength(dataJson, 'data');
    const st = L.import(h, payloadValue(dataJson), len, L.pLen, L.pErr);
    if (st !== 0) throw takeError(L, st);
    return takeCount(L);
  }

  /** Merges an export object ({ session_id: session }) atomically; returns the number of records imported. */
  import(data) {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw invalidArgument(`import data must be an object keyed by session_id, got ${describe(data)}`);
    }
    return this.importRaw(stringify(data, 'data'));
  }

  // --- handles ------------------------------------------------------------------------------------------------

  /**
   * A new handle on the same data, in another mode (or this one when mode is omitted). Close it on its own;
   * the data lives until the last handle is closed.
   */
  share(mode) {
    const h = this.#h();
    const L = this.#lib;
    const m = optString(mode, 'mode');
    const outStore = [null];
    const outError = [null];
    const st = L.share(h, m, outStore, outError);
    if (st !== 0) throw makeError(st, errorText(L, st, outError[0]));
    return new SessionStore({ [kAdopt]: { lib: L, handle: outStore[0], mode: m === null ? this.#mode : m } });
  }

  /** Releases the handle. Idempotent; every other method throws a CLOSED SessionStoreError afterwards. */
  close() {
    const h = this.#handle;
    if (h === null) return;
    this.#handle = null; // first, so nothing can reach the freed handle again
    registry.unregister(this);
    this.#lib.close(h);
  }

  get [Symbol.toStringTag]() {
    return 'SessionStore';
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(SessionStore.prototype, Symbol.dispose, {
    value: function dispose() {
      this.close();
    },
    writable: true,
    configurable: true,
  });
}

/** The library's version string, e.g. "0.1.0". */
function version(options) {
  const libraryPath = options && typeof options === 'object' ? options.libraryPath : undefined;
  return loadLibrary(libraryPath).libVersion;
}

module.exports = {
  SessionStore,
  SessionStoreError,
  NotFoundError,
  InvalidArgumentError,
  InvalidJsonError,
  InvalidSessionError,
  ConflictError,
  TooLargeError,
  InternalError,
  ClosedError,
  Status,
  version,
  DEFAULT_LIBRARY_PATH,
  BINDING_VERSION: PACKAGE_VERSION,
};
module.exports.default = module.exports;
