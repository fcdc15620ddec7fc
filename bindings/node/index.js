'use strict';

// Node.js binding of sessionstore over koffi (C ABI: include/sessionstore.h).
//
// Memory rules followed here (see README.md, "Safety"):
// - every char * the library hands out (out_json, out_error) is decoded with an explicit byte length and then
//   freed with the library's own ss_string_free, never with koffi.free / libc free and never through 'str!';
// - the opaque ss_store * is a BigInt; close() nulls it before anything else, so a closed store never passes
//   a freed handle to C (calls after close throw a CLOSED SessionStoreError);
// - every method converts all its arguments to primitives and views of its own first, then takes the handle and
//   calls C with nothing in between: a getter, Proxy trap or toJSON that closes the store can only run before the
//   handle is taken, and koffi never sees a caller's object;
// - byte lengths come from the engine (typed-array getters captured at load), never from a property the caller
//   can override, so C never reads past the bytes it was given;
// - a FinalizationRegistry closes handles that were never closed, as a safety net only.
//
// Out-parameters: ss_store_open / ss_store_share use koffi.out(koffi.pointer(...)) arrays. The hot calls
// (read, upsert, listings...) write their out-parameters into a small per-library scratch block allocated once
// with koffi.alloc() and read back through a typed-array view: JS is single-threaded and these calls are
// synchronous and never call back into JS, so the block cannot be used by two calls at once. Measured with
// koffi 3.3.4 on a 1 KiB read, out-arrays cost ~850 ns per call, the scratch block ~230 ns. (The asynchronous
// calls of the test hook, see #async in SessionStore, each have a block of their own.)

const fs = require('node:fs');
const path = require('node:path');
const { isUint8Array, isArrayBufferView, isSharedArrayBuffer, isDate, isProxy } = require('node:util').types;
const koffi = require('koffi');
// Captured at load, like the intrinsics below: the hot path never looks it up on the koffi module again.
const decodeString = koffi.decode.string;

const PACKAGE_VERSION = require('./package.json').version;

// Intrinsics captured at load, so that patching prototypes later cannot change the lengths sent to C.
const uncurryThis = Function.prototype.bind.bind(Function.prototype.call);
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const typedArrayGetter = (name) => uncurryThis(Object.getOwnPropertyDescriptor(TypedArrayPrototype, name).get);
const viewBuffer = typedArrayGetter('buffer');
const viewByteOffset = typedArrayGetter('byteOffset');
const viewByteLength = typedArrayGetter('byteLength');
const typedArrayName = typedArrayGetter(Symbol.toStringTag);
const U8 = Uint8Array;
const utf8Length = Buffer.byteLength;
const indexOf = uncurryThis(String.prototype.indexOf);
const dateGetTime = uncurryThis(Date.prototype.getTime);
const ordinaryHasInstance = uncurryThis(Function.prototype[Symbol.hasInstance]);
const jsonStringify = JSON.stringify;
const hasOwn = Object.hasOwn;

// ---------------------------------------------------------------------------------------------------------
// Status codes and errors
// ---------------------------------------------------------------------------------------------------------

// Bad arguments are thrown as TypeError (a value of the wrong kind) or RangeError (a number out of range), as
// Node's own APIs do, yet remain InvalidArgumentErrors (code INVALID_ARGUMENT) for code that catches those:
// instanceof SessionStoreError / InvalidArgumentError also holds for the errors in this set.
const argumentErrors = new WeakSet();

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

  static [Symbol.hasInstance](value) {
    return (
      ordinaryHasInstance(this, value) ||
      ((this === SessionStoreError || this === InvalidArgumentError) && argumentErrors.has(value))
    );
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
const PermissionDeniedError = errorSubclass('PermissionDeniedError');
const IoError = errorSubclass('IoError');
const LockedError = errorSubclass('LockedError');
const CorruptError = errorSubclass('CorruptError');
const PoisonedError = errorSubclass('PoisonedError');
const VersionMismatchError = errorSubclass('VersionMismatchError');
const FeedTruncatedError = errorSubclass('FeedTruncatedError');
const FullError = errorSubclass('FullError');
const UnavailableError = errorSubclass('UnavailableError');
const ClosedError = errorSubclass('ClosedError');

// The one table of statuses in this package: everything else (Status, the error classes by number, the
// TypeScript docs) goes by it. Numbers and texts of the library's statuses are the C library's ss_status and
// ss_status_str() (include/sessionstore.h): checkStatusTable() compares them with every library loaded, so a
// status added to the library but not here fails the load. CLOSED is SS_BINDING_STATUS_CLOSED: a binding-side
// status, the same number in every binding, never returned by the C library (ss_status_str() calls it "closed").
const STATUS_TABLE = Object.freeze(
  [
    { status: 0, code: 'OK', text: 'ok', Error: null },
    { status: 1, code: 'NOT_FOUND', text: 'not found', Error: NotFoundError },
    { status: 2, code: 'INVALID_ARGUMENT', text: 'invalid argument', Error: InvalidArgumentError },
    { status: 3, code: 'INVALID_JSON', text: 'invalid JSON', Error: InvalidJsonError },
    { status: 4, code: 'INVALID_SESSION', text: 'invalid session', Error: InvalidSessionError },
    { status: 5, code: 'CONFLICT', text: 'conflict', Error: ConflictError },
    { status: 6, code: 'TOO_LARGE', text: 'too large', Error: TooLargeError },
    { status: 7, code: 'INTERNAL', text: 'internal error', Error: InternalError },
    { status: 8, code: 'PERMISSION_DENIED', text: 'permission denied', Error: PermissionDeniedError },
    { status: 9, code: 'IO', text: 'I/O error', Error: IoError },
    { status: 10, code: 'LOCKED', text: 'locked', Error: LockedError },
    { status: 11, code: 'CORRUPT', text: 'corrupt', Error: CorruptError },
    { status: 12, code: 'POISONED', text: 'poisoned', Error: PoisonedError },
    { status: 13, code: 'VERSION_MISMATCH', text: 'version mismatch', Error: VersionMismatchError },
    { status: 14, code: 'FEED_TRUNCATED', text: 'feed truncated', Error: FeedTruncatedError },
    { status: 15, code: 'FULL', text: 'full', Error: FullError },
    { status: 16, code: 'UNAVAILABLE', text: 'unavailable', Error: UnavailableError },
    { status: 65536, code: 'CLOSED', text: 'closed', Error: ClosedError, bindingOnly: true },
  ].map(Object.freeze),
);

/** Numeric statuses: the C library's ss_status values, plus CLOSED, which only the bindings report. */
const Status = Object.freeze(Object.fromEntries(STATUS_TABLE.map((e) => [e.code, e.status])));
const OK = Status.OK;
const NOT_FOUND = Status.NOT_FOUND;
const STATUS_ENTRY = new Map(STATUS_TABLE.map((e) => [e.status, e]));
const INTERNAL_ENTRY = STATUS_ENTRY.get(Status.INTERNAL);

// What ss_status_str() returns for a number that is not a status.
const UNKNOWN_STATUS_TEXT = 'unknown status';

/**
 * Checks a status table against a library's ss_status_str (a function of a number): the library's statuses
 * are the numbers from 0 up to the first that it calls "unknown status" (scanning stops below the first
 * binding-only status); each must be in the table, with the same text, and every table entry must be one of
 * them or a binding-only status the library names with the table's text. Throws an Error listing every
 * mismatch; returns how many statuses the library has. Pure: tests call it with a fake statusStr.
 */
function checkStatusTable(table, statusStr) {
  const byNumber = new Map(table.map((e) => [e.status, e]));
  const limit = Math.min(...table.filter((e) => e.bindingOnly).map((e) => e.status));
  const problems = [];
  let count = 0;
  for (; ; count++) {
    const text = statusStr(count);
    if (text === UNKNOWN_STATUS_TEXT) break;
    if (count >= limit) {
      problems.push(`the library names every status up to ${count} ("${text}"), reserved for the bindings`);
      break;
    }
    const e = byNumber.get(count);
    if (e === undefined || e.bindingOnly) {
      problems.push(`status ${count} ("${text}") of the library is missing from this binding`);
    } else if (e.text !== text) {
      problems.push(`status ${count} is "${text}" in the library but ${e.code} ("${e.text}") in this binding`);
    }
  }
  for (const e of table) {
    if (e.bindingOnly) {
      const text = statusStr(e.status);
      if (text !== e.text) {
        problems.push(`the library calls binding status ${e.code} (${e.status}) "${text}", expected "${e.text}"`);
      }
    } else if (e.status >= count) {
      problems.push(`${e.code} (${e.status}) is not a status of the library (it has ${count})`);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `the library's statuses do not match this binding's (STATUS_TABLE in index.js): ${problems.join('; ')}`,
    );
  }
  return count;
}

function makeError(status, message, options) {
  // A status this binding does not know is reported as INTERNAL with its real number (cannot happen with a
  // library that passed checkStatusTable, kept as a guard).
  const e = STATUS_ENTRY.get(status);
  const { code, Error: Cls } = e !== undefined && e.Error !== null ? e : INTERNAL_ENTRY;
  return new Cls(message, code, status, options);
}

function invalidArgument(message) {
  return makeError(Status.INVALID_ARGUMENT, message);
}

function argumentError(Ctor, message) {
  const e = new Ctor(message);
  e.code = 'INVALID_ARGUMENT';
  e.status = Status.INVALID_ARGUMENT;
  argumentErrors.add(e);
  return e;
}

const typeError = (message) => argumentError(TypeError, message);
const rangeError = (message) => argumentError(RangeError, message);

function closedError() {
  return makeError(Status.CLOSED, 'sessionstore: the store is closed');
}

// ---------------------------------------------------------------------------------------------------------
// Library lookup and binding
// ---------------------------------------------------------------------------------------------------------

const { LIB_FILE, BUILT_LIBRARY_PATH, PREBUILD_DIR } = require('./library-paths.js');

/** Where the package looks for the library last: the project's build output, ../../target/release. */
const DEFAULT_LIBRARY_PATH = BUILT_LIBRARY_PATH;

/** The library bundled in the npm package (npm pack copies the build output there): prebuilds/<platform>-<arch>. */
const PREBUILD_LIBRARY_PATH = path.join(PREBUILD_DIR, LIB_FILE);

// The library's major.minor this binding was written for (0.x: minor changes may break the ABI).
const ABI_MAJOR = 0;
const ABI_MINOR = 4;

// koffi types are global to the koffi instance: declare them once.
const T_STORE = koffi.opaque('ss_store');
const T_STORE_PTR = koffi.pointer('ss_store_ptr', T_STORE);
const OUT_STORE = koffi.out(koffi.pointer(T_STORE_PTR));
const OUT_ERROR = koffi.out(koffi.pointer('void *'));

const loaded = new Map(); // resolved file -> Lib
let found = null; // the Lib found in the package's own places, once loaded: later calls do not look again

function candidates(libraryPath) {
  const list = [];
  if (libraryPath !== undefined && libraryPath !== null) {
    if (typeof libraryPath !== 'string') {
      throw typeError(`sessionstore: libraryPath must be a string, got ${describe(libraryPath)}`);
    }
    if (libraryPath === '') throw invalidArgument('sessionstore: libraryPath must not be empty');
    list.push({ from: 'libraryPath option', file: path.resolve(libraryPath), explicit: true });
  }
  const env = process.env.SESSIONSTORE_LIB;
  if (env) list.push({ from: 'SESSIONSTORE_LIB', file: path.resolve(env), explicit: true });
  list.push({ from: 'bundled prebuild', file: PREBUILD_LIBRARY_PATH, explicit: false });
  list.push({ from: 'build output', file: DEFAULT_LIBRARY_PATH, explicit: false });
  return list;
}

/**
 * Finds and binds the shared library: the libraryPath option, else $SESSIONSTORE_LIB, else the library bundled
 * in the package (prebuilds/<platform>-<arch>/), else the project's build output (../../target/release next to
 * this package). A path given explicitly (the option or the variable) is the only one tried: missing or
 * unloadable, it is an error naming it, never a reason to load another copy. Otherwise the first of the
 * package's own places that exists is loaded (and, if it cannot be, that is an error too).
 */
function loadLibrary(libraryPath) {
  const list = candidates(libraryPath);
  let i = 0;
  if (!list[0].explicit) {
    if (found !== null) return found;
    i = list.findIndex((c) => fs.existsSync(c.file));
    if (i < 0) {
      const lines = list.map((c) => `\n  ${c.file} (${c.from}): not found`).join('');
      throw makeError(
        Status.INTERNAL,
        `sessionstore: cannot find the native library (${LIB_FILE}):${lines}` +
          `\nNo library for ${process.platform}-${process.arch} is bundled with this package (npm pack bundles ` +
          'the one of the platform it runs on). Build it with `make -C <repo> lib` (or `cargo build --release`), ' +
          'set SESSIONSTORE_LIB, or pass { libraryPath }.',
      );
    }
  }
  const c = list[i];
  const hit = loaded.get(c.file);
  if (hit) {
    if (!c.explicit) found = hit;
    return hit;
  }
  const notTried = list
    .slice(i + 1)
    .map((o) => `\n  ${o.file} (${o.from}): not tried, ${c.from} comes first`)
    .join('');
  if (!fs.existsSync(c.file)) {
    throw makeError(
      Status.INTERNAL,
      `sessionstore: cannot find the native library (${LIB_FILE}):\n  ${c.file} (${c.from}): not found` +
        notTried +
        '\nBuild it with `make -C <repo> lib` (or `cargo build --release`), set SESSIONSTORE_LIB, ' +
        'or pass { libraryPath }.',
    );
  }
  let lib;
  try {
    lib = bindLibrary(c.file);
  } catch (e) {
    throw makeError(
      Status.INTERNAL,
      `sessionstore: cannot load the native library:\n  ${c.file} (${c.from}): ${e && e.message ? e.message : e}` +
        notTried,
      { cause: e },
    );
  }
  loaded.set(c.file, lib);
  if (!c.explicit) found = lib;
  return lib;
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
    // [2] char *out_error, [3] uint64_t out_seq (ss_export_with_seq).
    scratch: koffi.alloc('uint64_t', SCRATCH_SLOTS),
    version: fn('const char *ss_version(void)'),
    statusStr: fn('const char *ss_status_str(uint32_t status)'),
    free: fn('void ss_string_free(void *s)'),
    open: fn('uint32_t ss_store_open(const char *config_json, size_t config_len, _Out_ ss_store_ptr *out_store, _Out_ void **out_error)'),
    share: fn('uint32_t ss_store_share(const ss_store_ptr store, const char *mode, _Out_ ss_store_ptr *out_store, _Out_ void **out_error)'),
    close: fn('void ss_store_close(ss_store_ptr store)'),
    sync: fn('uint32_t ss_store_sync(const ss_store_ptr store, void *out_error)'),
    upsert: fn('uint32_t ss_upsert(ss_store_ptr store, const char *json, size_t len, void *out_json, void *out_len, void *out_error)'),
    upsertMany: fn('uint32_t ss_upsert_many(ss_store_ptr store, const char *json, size_t len, void *out_json, void *out_len, void *out_error)'),
    read: fn('uint32_t ss_read(const ss_store_ptr store, const char *session_id, const char *user_id, void *out_json, void *out_len, void *out_error)'),
    readInto: fn('uint32_t ss_read_into(const ss_store_ptr store, const char *session_id, const char *user_id, void *buf, size_t cap, void *out_len, void *out_error)'),
    allIds: fn('uint32_t ss_get_all_session_ids(const ss_store_ptr store, const char *user_id, const char *entity_id, void *out_json, void *out_len, void *out_error)'),
    all: fn('uint32_t ss_get_all_sessions(const ss_store_ptr store, const char *user_id, const char *entity_id, void *out_json, void *out_len, void *out_error)'),
    recent: fn('uint32_t ss_get_recent_sessions(const ss_store_ptr store, const char *user_id, const char *entity_id, int64_t limit, void *out_json, void *out_len, void *out_error)'),
    query: fn('uint32_t ss_query(const ss_store_ptr store, const char *json, size_t len, void *out_json, void *out_len, void *out_error)'),
    rename: fn('uint32_t ss_rename_session(ss_store_ptr store, const char *session_id, const char *session_name, const char *user_id, void *out_json, void *out_len, void *out_error)'),
    del: fn('uint32_t ss_delete_session(ss_store_ptr store, const char *session_id, const char *user_id, void *out_removed, void *out_error)'),
    delMany: fn('uint32_t ss_delete_sessions(ss_store_ptr store, const char *json, size_t len, const char *user_id, void *out_removed, void *out_error)'),
    drop: fn('uint32_t ss_drop(ss_store_ptr store, void *out_removed, void *out_error)'),
    stats: fn('uint32_t ss_stats(const ss_store_ptr store, void *out_json, void *out_len, void *out_error)'),
    export: fn('uint32_t ss_export(const ss_store_ptr store, void *out_json, void *out_len, void *out_error)'),
    import: fn('uint32_t ss_import(ss_store_ptr store, const char *json, size_t len, void *out_count, void *out_error)'),
    // 0.3: versions, compare-and-set, atomic append, the change feed.
    upsertIf: fn('uint32_t ss_upsert_if(ss_store_ptr store, const char *json, size_t len, uint64_t expected_version, void *out_json, void *out_len, void *out_error)'),
    renameIf: fn('uint32_t ss_rename_session_if(ss_store_ptr store, const char *session_id, const char *session_name, const char *user_id, uint64_t expected_version, void *out_json, void *out_len, void *out_error)'),
    delIf: fn('uint32_t ss_delete_session_if(ss_store_ptr store, const char *session_id, const char *user_id, uint64_t expected_version, void *out_removed, void *out_error)'),
    appendRuns: fn('uint32_t ss_append_runs(ss_store_ptr store, const char *session_id, const char *user_id, const char *json, size_t len, void *out_json, void *out_len, void *out_error)'),
    changes: fn('uint32_t ss_changes(const ss_store_ptr store, uint64_t after, size_t limit, const char *options_json, size_t options_len, void *out_json, void *out_len, void *out_error)'),
    exportWithSeq: fn('uint32_t ss_export_with_seq(const ss_store_ptr store, void *out_json, void *out_len, void *out_seq, void *out_error)'),
  };
  // The buffer reads are copied into (see readRaw), grown up to MAX_READ_BUFFER for larger sessions.
  L.readBuf = Buffer.allocUnsafeSlow(READ_BUFFER);
  const base = L.scratch;
  L.pJson = base;
  L.pLen = base + 8n;
  L.pErr = base + 16n;
  L.pSeq = base + 24n;
  Object.assign(L, outViews(base));

  const v = L.version();
  const m = /^(\d+)\.(\d+)\./.exec(v || '');
  if (!m || Number(m[1]) !== ABI_MAJOR || (ABI_MAJOR === 0 && Number(m[2]) !== ABI_MINOR)) {
    throw new Error(
      `library version ${v} is not compatible with this binding (expects ${ABI_MAJOR}.${ABI_MINOR}.x)`,
    );
  }
  L.libVersion = v;
  checkStatusTable(STATUS_TABLE, (n) => L.statusStr(n));
  return L;
}

// --- decoding of what the library returns (always freed with ss_string_free) ----------------------------

// uint64_t slots of an out-parameter block: the per-library scratch block, and the block of each asynchronous call.
const SCRATCH_SLOTS = 4;

/** Views of an out-parameter block of SCRATCH_SLOTS uint64_t at the address base, zeroed. */
function outViews(base) {
  const slots = new BigUint64Array(koffi.view(base, 8 * SCRATCH_SLOTS));
  const u32 = new Uint32Array(slots.buffer, slots.byteOffset, 2 * SCRATCH_SLOTS);
  slots.fill(0n);
  return { slots, u32 };
}

// The size_t slot [1] read as two 32-bit halves (no BigInt on the hot path), in the platform's byte order.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LEN_LO = LITTLE_ENDIAN ? 2 : 3;
const LEN_HI = LITTLE_ENDIAN ? 3 : 2;

// A read copies the session into one buffer per library (ss_read_into) and decodes it from there: no
// allocation in C, no free call, and Buffer's own UTF-8 decoding, about 450 ns less than ss_read + decode +
// free for 1 KiB. Sessions larger than the buffer grow it, up to MAX_READ_BUFFER; larger ones use ss_read.
const READ_BUFFER = 64 * 1024;
const MAX_READ_BUFFER = 1024 * 1024;
const bufferToString = uncurryThis(Buffer.prototype.toString);

/** The length in the out_len slot (size_t) after a successful call. */
function outLen(L) {
  return L.u32[LEN_LO] + L.u32[LEN_HI] * 4294967296;
}

/** Takes the string in the out_json slot (after a successful call): decodes it, frees it, clears the slot. */
function takeJson(L) {
  const p = L.slots[0];
  const len = outLen(L);
  L.slots[0] = 0n;
  if (p === 0n) throw makeError(Status.INTERNAL, 'sessionstore: the library returned no JSON');
  try {
    return decodeString(p, len);
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

/** The result of a call that writes JSON: the JSON, or the call's error thrown. */
function jsonResult(L, status) {
  if (status !== OK) throw takeError(L, status);
  return takeJson(L);
}

/** The result of a call that writes a count: the count, or the call's error thrown. */
function countResult(L, status) {
  if (status !== OK) throw takeError(L, status);
  return takeCount(L);
}

/** Decodes and frees an owned error message pointer (may be 0). */
function errorText(L, status, p) {
  if (p === 0n || p === null || p === undefined) {
    return L.statusStr(status) || UNKNOWN_STATUS_TEXT;
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
  L.slots[3] = 0n;
  return makeError(status, errorText(L, status, p));
}

/** The parsed JSON of a call that writes JSON (asynchronous calls: O is their out-parameter block). */
function parsedJson(O, status) {
  return JSON.parse(jsonResult(O, status));
}

/** As parsedJson, with NOT_FOUND as null (read). */
function parsedJsonOrNull(O, status) {
  if (status === NOT_FOUND) {
    dropError(O);
    return null;
  }
  return parsedJson(O, status);
}

/** Frees the message of a failure that is turned into a non-error result (read: NOT_FOUND -> null). */
function dropError(L) {
  const p = L.slots[2];
  L.slots[2] = 0n;
  if (p !== 0n) L.free(p);
}

// --- argument checks --------------------------------------------------------------------------------------
// These run before the handle is taken (user code may run here: getters, Proxy traps, toJSON) and return only
// primitives and views made here.

function reqString(value, what) {
  if (typeof value !== 'string') throw typeError(`${what} must be a string, got ${describe(value)}`);
  if (indexOf(value, '\0') !== -1) throw invalidArgument(`${what} must not contain NUL characters`);
  return value;
}

function optString(value, what) {
  if (value === undefined || value === null) return null;
  return reqString(value, what);
}

function describe(value) {
  if (value === null) return 'null';
  if (isProxy(value)) return 'a Proxy';
  if (Array.isArray(value)) return 'an array';
  if (isArrayBufferView(value)) return `a ${typedArrayName(value) || 'DataView'}`;
  return typeof value;
}

/**
 * A raw payload as a string or a Uint8Array of its own over the caller's bytes (no copy), with the range read
 * from the engine's slots. Refused: a Proxy (only its traps could tell its bytes) and memory that another
 * thread may write while C reads it (a SharedArrayBuffer).
 */
function payloadData(value, what) {
  if (typeof value === 'string') return value;
  if (!isUint8Array(value)) {
    throw typeError(`${what} must be a JSON string or a Buffer/Uint8Array, got ${describe(value)}`);
  }
  const buffer = viewBuffer(value);
  if (isSharedArrayBuffer(buffer)) {
    throw typeError(`${what} must not be backed by a SharedArrayBuffer; copy it first (Buffer.from(view))`);
  }
  let own;
  try {
    own = new U8(buffer, viewByteOffset(value), viewByteLength(value));
  } catch (e) {
    throw typeError(`${what} cannot be read: ${e.message}`); // a detached ArrayBuffer
  }
  // koffi passes an empty view as NULL; send "" instead so the library reports the empty input as invalid JSON.
  return viewByteLength(own) === 0 ? '' : own;
}

/** The byte length of what payloadData returned. */
function payloadLength(data) {
  return typeof data === 'string' ? utf8Length(data) : viewByteLength(data);
}

function stringify(value, what) {
  let text;
  try {
    text = jsonStringify(value);
  } catch (e) {
    throw makeError(Status.INVALID_JSON, `${what} cannot be serialised to JSON: ${e.message}`, { cause: e });
  }
  if (text === undefined) throw typeError(`${what} must be a JSON value, got ${describe(value)}`);
  return text;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const SIZE_MAX = 2n ** BigInt(8 * koffi.sizeof('size_t')) - 1n;

/** An integer (number or bigint) in [min, max], the range of the C type it goes to; returned unchanged. */
function intArg(value, what, min, max) {
  if (typeof value !== 'number' && typeof value !== 'bigint') {
    throw typeError(`${what} must be an integer (number or bigint), got ${describe(value)}`);
  }
  // Mixed number/bigint comparisons are exact; NaN and the infinities are not integers.
  if ((typeof value === 'number' && !Number.isInteger(value)) || value < min || value > max) {
    throw rangeError(`${what} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/**
 * A uint64_t argument (an expected version, a change number): a bigint from 0 to 2^64 - 1, or a number that is a
 * safe integer (0 to 2^53 - 1). A larger number is refused rather than sent: it may already be a rounded value,
 * and a compare-and-set against a rounded version would test the wrong one.
 */
function u64Arg(value, what) {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && !Number.isSafeInteger(value)) {
    throw rangeError(`${what} must be a bigint above Number.MAX_SAFE_INTEGER (2^53 - 1), got the number ${value}`);
  }
  return intArg(value, what, 0n, UINT64_MAX);
}

/**
 * A change number or version the library returned, as a number. The store numbers its changes one by one from 1,
 * so they stay far below 2^53 (about 285 years at a million changes a second); should one not, it is a
 * TooLargeError rather than a rounded number (the Raw variants stay exact).
 */
function seqNumber(value, what) {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw makeError(
      Status.TOO_LARGE,
      `sessionstore: ${what} ${value} is above Number.MAX_SAFE_INTEGER (2^53 - 1) and would be rounded; use the Raw variant`,
    );
  }
  return n;
}

/** ss_changes' JSON parsed, with its change numbers checked (see seqNumber). */
function parseChanges(text) {
  const result = JSON.parse(text);
  seqNumber(result.next, 'next');
  seqNumber(result.latest, 'latest');
  for (const c of result.changes) {
    seqNumber(c.seq, 'seq');
    if (c.version !== undefined) seqNumber(c.version, 'version');
  }
  return result;
}

// The most changes one ss_changes() call returns, whatever its limit (SS_MAX_CHANGES): the default limit.
const MAX_CHANGES = 10000;
const CHANGES_OPTIONS = ['limit', 'idsOnly'];
const IDS_ONLY = '{"ids_only":true}';

/**
 * The { limit, idsOnly } options of changes(): [limit (a size_t of at least 1, default MAX_CHANGES), idsOnly].
 * Unknown keys are refused, so that a misspelt idsOnly cannot go unnoticed.
 */
function changesOptions(options) {
  if (options === undefined || options === null) return [MAX_CHANGES, false];
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(`changes: options must be an object like { limit, idsOnly }, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!CHANGES_OPTIONS.includes(key)) {
      throw invalidArgument(`changes: unknown option "${key}" (known: ${CHANGES_OPTIONS.join(', ')})`);
    }
  }
  const { limit, idsOnly } = options;
  const n = limit === undefined || limit === null ? MAX_CHANGES : intArg(limit, 'limit', 1n, SIZE_MAX);
  if (idsOnly !== undefined && idsOnly !== null && typeof idsOnly !== 'boolean') {
    throw typeError(`changes: idsOnly must be a boolean, got ${describe(idsOnly)}`);
  }
  return [n, idsOnly === true];
}

function filterArgs(options, what) {
  if (options === undefined || options === null) return [null, null];
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(`${what}: options must be an object like { userId, entityId }, got ${describe(options)}`);
  }
  return [optString(options.userId, 'userId'), optString(options.entityId, 'entityId')];
}

/**
 * The { userId } options of renameSession, deleteSession and deleteSessions: the user_id argument of
 * ss_rename_session / ss_delete_session / ss_delete_sessions (null = any user's session). Unlike the listing
 * filters, unknown keys are refused: a misspelt userId would otherwise widen a write to every user's sessions.
 */
function userScope(options, what) {
  if (options === undefined || options === null) return null;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(`${what}: options must be an object like { userId }, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'userId') throw invalidArgument(`${what}: unknown option "${key}" (known: userId)`);
  }
  return optString(options.userId, 'userId');
}

/** ss_get_recent_sessions' int64_t limit: undefined = 2 (Agno's default), null or negative = all. */
function limitArg(limit) {
  if (limit === undefined) return 2;
  if (limit === null) return -1;
  return intArg(limit, 'limit', INT64_MIN, INT64_MAX);
}

/** JSON text of an object given as [key, value] pairs; bigints are written as exact integers. */
function jsonObject(fields, what) {
  const member = ([k, v]) => `${jsonStringify(k)}:${typeof v === 'bigint' ? String(v) : stringify(v, what)}`;
  return `{${fields.map(member).join(',')}}`;
}

// Query keys by either spelling, with the kind of value ss_query accepts (timestamps are int64 unix seconds,
// limit and offset uint64).
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
  sessionType: 'session_type',
  fields: 'fields',
};
const QUERY_KINDS = {
  user_id: 'string',
  entity_id: 'string',
  session_name: 'string',
  created_after: 'time',
  created_before: 'time',
  updated_after: 'time',
  updated_before: 'time',
  sort_by: 'string',
  sort_order: 'string',
  limit: 'count',
  offset: 'count',
  session_type: 'names',
  fields: 'fields',
};

// The most field names ss_query's "fields" list may hold (include/sessionstore.h, ss_query).
const MAX_QUERY_FIELDS = 64;

/**
 * A string, or an array of strings copied into a new array (a Proxy's traps and getters run here, once per
 * element, and never again): the value of session_type and fields. The names themselves are the library's to
 * check; a fields list is bounded by the library's limit before it is copied.
 */
function namesValue(value, key, max) {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) {
    throw typeError(`query: ${key} must be a string or an array of strings, got ${describe(value)}`);
  }
  const n = value.length;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
    throw rangeError(`query: ${key} may list at most ${max} names, got ${typeof n === 'number' ? n : describe(n)}`);
  }
  const names = [];
  for (let i = 0; i < n; i++) {
    const name = value[i];
    if (typeof name !== 'string') {
      throw typeError(`query: ${key}[${i}] must be a string, got ${describe(name)}`);
    }
    names.push(name);
  }
  return names;
}

function queryValue(kind, value, key) {
  if (value === null) return null;
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') throw typeError(`query: ${key} must be a string, got ${describe(value)}`);
      return value;
    case 'time':
      if (isDate(value)) {
        const ms = dateGetTime(value);
        if (Number.isNaN(ms)) throw rangeError(`query: ${key} is an invalid Date`);
        return BigInt(Math.floor(ms / 1000));
      }
      return BigInt(intArg(value, `query: ${key}`, INT64_MIN, INT64_MAX));
    case 'count':
      return BigInt(intArg(value, `query: ${key}`, 0n, UINT64_MAX));
    case 'names':
      return namesValue(value, key, 2 ** 32 - 1);
    case 'fields':
      return namesValue(value, key, MAX_QUERY_FIELDS);
    default:
      return value; // an unknown key: the library rejects it by name
  }
}

/**
 * camelCase query keys to the library's snake_case (which are accepted too); other keys pass through. Date
 * values become unix seconds; numbers are checked against the library's types, not rounded or nulled by JSON.
 */
function queryJson(q) {
  if (q === undefined || q === null) return '{}';
  if (typeof q !== 'object' || Array.isArray(q)) throw typeError(`query must be an object, got ${describe(q)}`);
  const fields = [];
  const seen = new Set();
  for (const key of Object.keys(q)) {
    const value = q[key];
    if (value === undefined) continue;
    const k = hasOwn(QUERY_KEYS, key) ? QUERY_KEYS[key] : key;
    if (seen.has(k)) throw invalidArgument(`query: ${k} given twice`);
    seen.add(k);
    fields.push([k, queryValue(hasOwn(QUERY_KINDS, k) ? QUERY_KINDS[k] : null, value, key)]);
  }
  return jsonObject(fields, 'query');
}

const OPEN_OPTIONS = new Set([
  'mode',
  'maxSessionBytes',
  'nonFiniteNumbers',
  'path',
  'sync',
  'syncIntervalMs',
  'compactFactor',
  'compactMinBytes',
  'feedBytes',
  'idleExpiryS',
  'maxAgeS',
  'refreshOnRead',
  'maxSessions',
  'maxBytes',
  'userMaxSessions',
  'userMaxBytes',
  'whenFull',
  'backend',
  'url',
  'namespace',
  'connectTimeoutMs',
  'commandTimeoutMs',
  'libraryPath',
]);

// The bounds of ss_store_open (0.4), by option: the library's key and the C type of its value (idle_expiry_s and
// max_age_s are uint64_t seconds, the other bounds size_t). 0 is no bound, as for the library.
const BOUND_OPTIONS = [
  ['idleExpiryS', 'idle_expiry_s', UINT64_MAX],
  ['maxAgeS', 'max_age_s', UINT64_MAX],
  ['maxSessions', 'max_sessions', SIZE_MAX],
  ['maxBytes', 'max_bytes', SIZE_MAX],
  ['userMaxSessions', 'user_max_sessions', SIZE_MAX],
  ['userMaxBytes', 'user_max_bytes', SIZE_MAX],
];

// ---------------------------------------------------------------------------------------------------------
// SessionStore
// ---------------------------------------------------------------------------------------------------------

const registry = new FinalizationRegistry((held) => {
  // Safety net for stores that were never closed; close() unregisters.
  held.lib.close(held.handle);
});

// share() hands its new handle to the constructor here: a module variable, not an options key, so that no
// caller's object (a Proxy's get trap sees every key asked for) can learn how to adopt an arbitrary pointer.
let adopting = null;

// The test hook of asynchronous calls (set in SessionStore's static block; see #callAsync).
let asyncCall = null;

class SessionStore {
  #lib;
  #handle; // BigInt, or null once closed
  #mode;
  #pending = 0; // asynchronous calls in flight (test hook only): the native handle outlives them
  #closeWhenIdle = null; // the handle close() took while calls were in flight, closed when the last one returns

  static {
    asyncCall = (store, op, ...args) => store.#async(op, args);
  }

  // Every method below follows the same order: this.#h() first (a closed store reports CLOSED before any
  // argument error), then every argument converted, then this.#h() again right before the C call, since the
  // conversion may have run caller code that closed the store.

  /**
   * Opens a new, empty store; with `path`, a durable store that loads what the directory holds (LOCKED when
   * another open store owns it, CORRUPT when its files are damaged, IO when it cannot be created or read). The
   * bounds (idleExpiryS, maxAgeS, refreshOnRead, maxSessions, maxBytes, userMaxSessions, userMaxBytes, whenFull;
   * 0 or absent: no bound) are those of ss_store_open: sessions expire, and writes evict the least recently
   * written sessions or, with whenFull 'refuse', throw a FullError. With backend 'redis', the store lives on the
   * Redis server at url, under namespace, shared by every store opened there on the same namespace (from this
   * process or another); calls throw an UnavailableError while the server cannot be used.
   * @param {{ mode?: string, maxSessionBytes?: number | bigint, nonFiniteNumbers?: 'reject' | 'null',
   *   path?: string, sync?: 'always' | 'interval' | 'os', syncIntervalMs?: number | bigint,
   *   compactFactor?: number | bigint, compactMinBytes?: number | bigint, feedBytes?: number | bigint,
   *   idleExpiryS?: number | bigint, maxAgeS?: number | bigint, refreshOnRead?: boolean,
   *   maxSessions?: number | bigint, maxBytes?: number | bigint, userMaxSessions?: number | bigint,
   *   userMaxBytes?: number | bigint, whenFull?: 'evict' | 'refuse', backend?: 'local' | 'redis', url?: string,
   *   namespace?: string, connectTimeoutMs?: number | bigint, commandTimeoutMs?: number | bigint,
   *   libraryPath?: string }} [options]
   */
  constructor(options = {}) {
    const adopted = adopting;
    adopting = null;
    if (adopted !== null) {
      this.#init(adopted.lib, adopted.handle, adopted.mode);
      return;
    }
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw typeError(`SessionStore options must be an object, got ${describe(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (!OPEN_OPTIONS.has(key)) {
        throw invalidArgument(`unknown SessionStore option "${key}" (known: ${[...OPEN_OPTIONS].join(', ')})`);
      }
    }
    const { mode, maxSessionBytes, nonFiniteNumbers, feedBytes, libraryPath } = options;
    const { path: dir, sync, syncIntervalMs, compactFactor, compactMinBytes } = options;
    // Bounds, each option read once (a getter or Proxy trap runs once, here).
    const bounds = BOUND_OPTIONS.map(([name]) => options[name]);
    const { refreshOnRead, whenFull } = options;
    const { backend, url, namespace, connectTimeoutMs, commandTimeoutMs } = options;
    const fields = [];
    if (mode !== undefined && mode !== null) fields.push(['mode', reqString(mode, 'mode')]);
    if (maxSessionBytes !== undefined && maxSessionBytes !== null) {
      fields.push(['max_session_bytes', BigInt(intArg(maxSessionBytes, 'maxSessionBytes', 1n, SIZE_MAX))]);
    }
    if (nonFiniteNumbers !== undefined && nonFiniteNumbers !== null) {
      fields.push(['non_finite_numbers', reqString(nonFiniteNumbers, 'nonFiniteNumbers')]);
    }
    if (feedBytes !== undefined && feedBytes !== null) {
      fields.push(['feed_bytes', BigInt(intArg(feedBytes, 'feedBytes', 0n, SIZE_MAX))]);
    }
    // Durability: the library checks the values (an empty path, an unknown sync: INVALID_ARGUMENT naming them).
    if (dir !== undefined && dir !== null) fields.push(['path', reqString(dir, 'path')]);
    if (sync !== undefined && sync !== null) fields.push(['sync', reqString(sync, 'sync')]);
    if (syncIntervalMs !== undefined && syncIntervalMs !== null) {
      fields.push(['sync_interval_ms', BigInt(intArg(syncIntervalMs, 'syncIntervalMs', 1n, UINT64_MAX))]);
    }
    if (compactFactor !== undefined && compactFactor !== null) {
      fields.push(['compact_factor', BigInt(intArg(compactFactor, 'compactFactor', 1n, UINT64_MAX))]);
    }
    if (compactMinBytes !== undefined && compactMinBytes !== null) {
      fields.push(['compact_min_bytes', BigInt(intArg(compactMinBytes, 'compactMinBytes', 0n, UINT64_MAX))]);
    }
    // Bounds: the numbers are checked here against their C types; the library checks the rest (refreshOnRead
    // without idleExpiryS, an unknown whenFull: INVALID_ARGUMENT naming them).
    BOUND_OPTIONS.forEach(([name, key, max], i) => {
      const value = bounds[i];
      if (value !== undefined && value !== null) fields.push([key, BigInt(intArg(value, name, 0n, max))]);
    });
    if (refreshOnRead !== undefined && refreshOnRead !== null) {
      if (typeof refreshOnRead !== 'boolean') {
        throw typeError(`refreshOnRead must be a boolean, got ${describe(refreshOnRead)}`);
      }
      fields.push(['refresh_on_read', refreshOnRead]);
    }
    if (whenFull !== undefined && whenFull !== null) fields.push(['when_full', reqString(whenFull, 'whenFull')]);
    // Backend: the library checks the values (an unknown backend, a redis backend without url, a namespace of 0 or
    // more than 128 bytes) and which keys go with which backend (path or the bounds with 'redis', url, namespace or
    // the timeouts without it: INVALID_ARGUMENT naming them).
    if (backend !== undefined && backend !== null) fields.push(['backend', reqString(backend, 'backend')]);
    if (url !== undefined && url !== null) fields.push(['url', reqString(url, 'url')]);
    if (namespace !== undefined && namespace !== null) fields.push(['namespace', reqString(namespace, 'namespace')]);
    if (connectTimeoutMs !== undefined && connectTimeoutMs !== null) {
      fields.push(['connect_timeout_ms', BigInt(intArg(connectTimeoutMs, 'connectTimeoutMs', 1n, UINT64_MAX))]);
    }
    if (commandTimeoutMs !== undefined && commandTimeoutMs !== null) {
      fields.push(['command_timeout_ms', BigInt(intArg(commandTimeoutMs, 'commandTimeoutMs', 1n, UINT64_MAX))]);
    }
    const lib = loadLibrary(libraryPath);
    const text = jsonObject(fields, 'options');
    const outStore = [null];
    const outError = [null];
    const status = lib.open(text, utf8Length(text), outStore, outError);
    if (status !== OK) throw makeError(status, errorText(lib, status, outError[0]));
    this.#init(lib, outStore[0], mode || 'agent');
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

  /**
   * Stores a session (JSON text or bytes) and returns the stored JSON text. A stored session whose user_id is set
   * belongs to that user: an input with another user_id (null or absent included) is PERMISSION_DENIED.
   */
  upsertRaw(sessionJson) {
    this.#h();
    const data = payloadData(sessionJson, 'session');
    const len = payloadLength(data);
    const L = this.#lib;
    const st = L.upsert(this.#h(), data, len, L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /** Stores a session object; returns the stored session (with session_type, created_at, updated_at). */
  upsert(session) {
    this.#h();
    return JSON.parse(this.upsertRaw(stringify(session, 'session')));
  }

  /** Stores a JSON array of sessions atomically; returns the JSON array of stored sessions. */
  upsertManyRaw(sessionsJson) {
    this.#h();
    const data = payloadData(sessionsJson, 'sessions');
    const len = payloadLength(data);
    const L = this.#lib;
    const st = L.upsertMany(this.#h(), data, len, L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /**
   * Stores an array of sessions atomically (all or none); returns the stored sessions in input order. An element
   * that would take another user's session is PERMISSION_DENIED ("sessions[i]: ..."), and nothing is stored.
   */
  upsertMany(sessions) {
    this.#h();
    if (!Array.isArray(sessions)) throw typeError(`sessions must be an array, got ${describe(sessions)}`);
    return JSON.parse(this.upsertManyRaw(stringify(sessions, 'sessions')));
  }

  /**
   * upsertRaw, only if the stored session's "version" is expectedVersion (0: the session must not exist yet);
   * otherwise throws VERSION_MISMATCH and changes nothing. expectedVersion is a uint64: a bigint, or a number that
   * is a safe integer.
   */
  upsertIfRaw(sessionJson, expectedVersion) {
    this.#h();
    const data = payloadData(sessionJson, 'session');
    const len = payloadLength(data);
    const expected = u64Arg(expectedVersion, 'expectedVersion');
    const L = this.#lib;
    const st = L.upsertIf(this.#h(), data, len, expected, L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /**
   * Compare-and-set: stores a session object only if the stored session's "version" is expectedVersion (0: the
   * session must not exist yet), and returns the stored session (with its new version). Otherwise throws a
   * VersionMismatchError and changes nothing: read the session again, redo the change, retry.
   */
  upsertIf(session, expectedVersion) {
    this.#h();
    const expected = u64Arg(expectedVersion, 'expectedVersion');
    return JSON.parse(this.upsertIfRaw(stringify(session, 'session'), expected));
  }

  // --- read ---------------------------------------------------------------------------------------------------

  /**
   * The stored JSON text of a session, or null when absent, expired, of another type, or owned by another user. With
   * refreshOnRead, a read refreshes the session's idle time.
   */
  readRaw(sessionId, userId) {
    this.#h();
    const sid = reqString(sessionId, 'sessionId');
    const uid = optString(userId, 'userId');
    const L = this.#lib;
    // out_error NULL: a miss (NOT_FOUND, returned as null) then costs no message for C to allocate and no second
    // FFI call to free it. Any other failure is read again with out_error, for the library's message (a read
    // changes nothing, and no caller code runs in between).
    const h = this.#h();
    let buf = L.readBuf;
    const st = L.readInto(h, sid, uid, buf, buf.length, L.pLen, null);
    if (st === OK) {
      let len = outLen(L);
      if (len > buf.length && len <= MAX_READ_BUFFER) {
        // Grown for this session; a writer may grow it again before the second call.
        buf = L.readBuf = Buffer.allocUnsafeSlow(Math.min(MAX_READ_BUFFER, Math.max(len, 2 * buf.length)));
        if (L.readInto(h, sid, uid, buf, buf.length, L.pLen, null) !== OK) return this.#readAllocating(h, sid, uid);
        len = outLen(L);
      }
      return len <= buf.length ? bufferToString(buf, 'utf8', 0, len) : this.#readAllocating(h, sid, uid);
    }
    if (st === NOT_FOUND) return null;
    return this.#readAllocating(h, sid, uid);
  }

  /** readRaw through ss_read: for sessions larger than the read buffer, and for the message of a failure. */
  #readAllocating(h, sid, uid) {
    const L = this.#lib;
    const again = L.read(h, sid, uid, L.pJson, L.pLen, L.pErr);
    if (again === OK) return takeJson(L);
    if (again === NOT_FOUND) {
      dropError(L);
      return null;
    }
    throw takeError(L, again);
  }

  /** The stored session, or null when absent, expired, of another type, or owned by another user. */
  read(sessionId, userId) {
    const text = this.readRaw(sessionId, userId);
    return text === null ? null : JSON.parse(text);
  }

  // --- listings -----------------------------------------------------------------------------------------------

  /** JSON array text of the ids of this handle's type, first-insertion order. */
  getAllSessionIdsRaw(options) {
    this.#h();
    const [uid, eid] = filterArgs(options, 'getAllSessionIds');
    const L = this.#lib;
    const st = L.allIds(this.#h(), uid, eid, L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /** Ids of this handle's type, optionally filtered by user and entity, first-insertion order. */
  getAllSessionIds(options) {
    return JSON.parse(this.getAllSessionIdsRaw(options));
  }

  /** JSON array text of the sessions of this handle's type. */
  getAllSessionsRaw(options) {
    this.#h();
    const [uid, eid] = filterArgs(options, 'getAllSessions');
    const L = this.#lib;
    const st = L.all(this.#h(), uid, eid, L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /** Sessions of this handle's type, optionally filtered by user and entity, first-insertion order. */
  getAllSessions(options) {
    return JSON.parse(this.getAllSessionsRaw(options));
  }

  /** JSON array text of the newest sessions (limit default 2; negative or null = all). */
  getRecentSessionsRaw(options) {
    this.#h();
    const [uid, eid] = filterArgs(options, 'getRecentSessions');
    const limit = limitArg(options === undefined || options === null ? undefined : options.limit);
    const L = this.#lib;
    const st = L.recent(this.#h(), uid, eid, limit, L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /** Newest sessions first (by created_at; ties: most recently inserted first). */
  getRecentSessions(options) {
    return JSON.parse(this.getRecentSessionsRaw(options));
  }

  /** Runs a query given as JSON text/bytes (snake_case keys; null = {}); returns '{"sessions":[...],"total":N}'. */
  queryRaw(queryJsonText) {
    this.#h();
    const absent = queryJsonText === undefined || queryJsonText === null;
    const data = absent ? null : payloadData(queryJsonText, 'query');
    const len = absent ? 0 : payloadLength(data);
    const L = this.#lib;
    const st = L.query(this.#h(), data, len, L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /**
   * Filters, sorts and pages the sessions of this handle's type (or of the types in sessionType: a type, a
   * list of types or 'any'). Keys in camelCase (sessionType, userId, entityId, sessionName, createdAfter,
   * createdBefore, updatedAfter, updatedBefore, sortBy, sortOrder, limit, offset, fields) or the library's
   * snake_case. fields: 'all' (default), 'metadata' or a list of at most 64 top-level field names. Returns
   * { sessions, total } (total before paging).
   */
  query(q) {
    this.#h();
    return JSON.parse(this.queryRaw(queryJson(q)));
  }

  // --- rename / delete ----------------------------------------------------------------------------------------

  /**
   * Sets session_data.session_name; returns the stored JSON text. With { userId }, only that user's session is
   * renamed (another user's is NOT_FOUND); without it (or null or ''), any session of this handle's type.
   */
  renameSessionRaw(sessionId, sessionName, options) {
    this.#h();
    const sid = reqString(sessionId, 'sessionId');
    const name = reqString(sessionName, 'sessionName');
    const uid = userScope(options, 'renameSession');
    const L = this.#lib;
    const st = L.rename(this.#h(), sid, name, uid, L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /** Sets session_data.session_name and returns the stored session; throws NOT_FOUND when absent (or not userId's). */
  renameSession(sessionId, sessionName, options) {
    return JSON.parse(this.renameSessionRaw(sessionId, sessionName, options));
  }

  /**
   * renameSessionRaw, only if the session's "version" is expectedVersion (a uint64); otherwise VERSION_MISMATCH
   * and nothing changes. A session the call cannot see (absent, another type, another user's) has version 0, so
   * an expectedVersion of 0 is NOT_FOUND.
   */
  renameSessionIfRaw(sessionId, sessionName, expectedVersion, options) {
    this.#h();
    const sid = reqString(sessionId, 'sessionId');
    const name = reqString(sessionName, 'sessionName');
    const expected = u64Arg(expectedVersion, 'expectedVersion');
    const uid = userScope(options, 'renameSessionIf');
    const L = this.#lib;
    const st = L.renameIf(this.#h(), sid, name, uid, expected, L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /** renameSession, only if the session's "version" is expectedVersion; else throws a VersionMismatchError. */
  renameSessionIf(sessionId, sessionName, expectedVersion, options) {
    return JSON.parse(this.renameSessionIfRaw(sessionId, sessionName, expectedVersion, options));
  }

  // --- append -------------------------------------------------------------------------------------------------

  /**
   * Appends the runs of a JSON array (text/bytes, one run or more) to the session's memory.runs (runs for a
   * workflow_v2 handle) as one atomic step, and returns the stored JSON text. Concurrent appends all land.
   */
  appendRunsRaw(sessionId, runsJson, options) {
    this.#h();
    const sid = reqString(sessionId, 'sessionId');
    const data = payloadData(runsJson, 'runs');
    const len = payloadLength(data);
    const uid = userScope(options, 'appendRuns');
    const L = this.#lib;
    const st = L.appendRuns(this.#h(), sid, uid, data, len, L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /**
   * Appends runs (an array of one or more JSON values) to the session's memory.runs (runs for workflow_v2) as one
   * atomic step: concurrent appends all land, unlike read + push + upsert. Returns the stored session. NOT_FOUND
   * when the session is absent (or, with { userId }, not that user's).
   */
  appendRuns(sessionId, runs, options) {
    this.#h();
    const sid = reqString(sessionId, 'sessionId');
    if (!Array.isArray(runs)) throw typeError(`runs must be an array of JSON values, got ${describe(runs)}`);
    return JSON.parse(this.appendRunsRaw(sid, stringify(runs, 'runs'), options));
  }

  /**
   * Deletes one session of this handle's type (with { userId }, only if it is that user's); returns how many were
   * removed (0 or 1).
   */
  deleteSession(sessionId, options) {
    this.#h();
    const sid = reqString(sessionId, 'sessionId');
    const uid = userScope(options, 'deleteSession');
    const L = this.#lib;
    const st = L.del(this.#h(), sid, uid, L.pLen, L.pErr);
    return countResult(L, st);
  }

  /**
   * deleteSession, only if the session's "version" is expectedVersion (a uint64; 0: the session must not exist,
   * and nothing is removed); otherwise throws a VersionMismatchError and removes nothing. Returns 0 or 1.
   */
  deleteSessionIf(sessionId, expectedVersion, options) {
    this.#h();
    const sid = reqString(sessionId, 'sessionId');
    const expected = u64Arg(expectedVersion, 'expectedVersion');
    const uid = userScope(options, 'deleteSessionIf');
    const L = this.#lib;
    const st = L.delIf(this.#h(), sid, uid, expected, L.pLen, L.pErr);
    return countResult(L, st);
  }

  /**
   * Deletes the sessions whose ids are in a JSON array (text/bytes), with { userId } only that user's; returns how
   * many were removed.
   */
  deleteSessionsRaw(idsJson, options) {
    this.#h();
    const data = payloadData(idsJson, 'sessionIds');
    const len = payloadLength(data);
    const uid = userScope(options, 'deleteSessions');
    const L = this.#lib;
    const st = L.delMany(this.#h(), data, len, uid, L.pLen, L.pErr);
    return countResult(L, st);
  }

  /**
   * Deletes sessions of this handle's type by id (with { userId }, only that user's; absent ids and other users'
   * sessions are not errors); returns how many were removed.
   */
  deleteSessions(sessionIds, options) {
    this.#h();
    if (!Array.isArray(sessionIds)) {
      throw typeError(`sessionIds must be an array of strings, got ${describe(sessionIds)}`);
    }
    return this.deleteSessionsRaw(stringify(sessionIds, 'sessionIds'), options);
  }

  /** Removes every session of this handle's type; returns how many were removed. */
  drop() {
    const L = this.#lib;
    const st = L.drop(this.#h(), L.pLen, L.pErr);
    return countResult(L, st);
  }

  // --- durability -------------------------------------------------------------------------------------------

  /**
   * Forces a durable store's journal to stable storage now, whatever its sync policy: when it returns, every
   * mutation acknowledged before the call survives a power loss. A no-op for a store in memory. Throws IO (the
   * fsync failed: the store is poisoned from then on) or POISONED (an earlier fsync failed).
   */
  sync() {
    const L = this.#lib;
    const st = L.sync(this.#h(), L.pErr);
    if (st !== OK) throw takeError(L, st);
  }

  // --- stats / export / import --------------------------------------------------------------------------------

  /** '{"mode":...,"sessions":N,"bytes":B,"by_type":{...},"feed":{...},"bounds":{...},"durability":null or {...}}' */
  statsRaw() {
    const L = this.#lib;
    const st = L.stats(this.#h(), L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /**
   * { mode, sessions, bytes, by_type: { agent, team, workflow, workflow_v2 }, feed, bounds, durability }: counts
   * over every type (sessions expired but not yet reclaimed included); feed is { store, latest, oldest, kept, bytes,
   * budget } (the change feed; store is the store's identity, as in changes()); bounds is { sessions, bytes,
   * max_sessions, max_bytes, user_max_sessions, user_max_bytes, idle_expiry_s, max_age_s, refresh_on_read,
   * when_full, expired, evicted } (what is held against each bound of the options, null for no bound, and how many
   * sessions were reclaimed after they expired and evicted since the store was opened); durability is null in
   * memory, else the directory, sync policy, journal, snapshot and recovery.
   */
  stats() {
    return JSON.parse(this.statsRaw());
  }

  /** JSON text {"<session_id>": session, ...} of every session of every type (Agno's storage_dict shape). */
  exportRaw() {
    const L = this.#lib;
    const st = L.export(this.#h(), L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /** Every session of every type, keyed by session_id. */
  export() {
    return JSON.parse(this.exportRaw());
  }

  /**
   * exportRaw, and the number of the last change the export holds, exactly (a bigint): { json, seq }. Follow the
   * store from there with changes(seq).
   */
  exportWithSeqRaw() {
    const L = this.#lib;
    const st = L.exportWithSeq(this.#h(), L.pJson, L.pLen, L.pSeq, L.pErr);
    if (st !== OK) throw takeError(L, st);
    const seq = L.slots[3];
    L.slots[3] = 0n;
    return { json: takeJson(L), seq };
  }

  /**
   * export(), and the number of the last change it holds: { data, seq }. Apply data, then changes(seq) and on:
   * nothing is missed and nothing is seen twice.
   */
  exportWithSeq() {
    const { json, seq } = this.exportWithSeqRaw();
    const n = seqNumber(seq, 'seq');
    return { data: JSON.parse(json), seq: n };
  }

  // --- change feed --------------------------------------------------------------------------------------------

  /**
   * JSON text of the change feed after change number `after` (a uint64):
   * '{"changes":[...],"next":N,"latest":L,"store":"<32 hex digits>"}'.
   * Options { limit (at least 1, default and at most 10000), idsOnly (leave the sessions out) }. FEED_TRUNCATED
   * when the feed no longer holds the changes after `after` (start again from exportWithSeq).
   */
  changesRaw(after, options) {
    this.#h();
    const from = u64Arg(after, 'after');
    const [limit, idsOnly] = changesOptions(options);
    const opts = idsOnly ? IDS_ONLY : null;
    const L = this.#lib;
    const st = L.changes(this.#h(), from, limit, opts, opts === null ? 0 : opts.length, L.pJson, L.pLen, L.pErr);
    return jsonResult(L, st);
  }

  /**
   * The store's changes numbered above `after`, oldest first, of every type: { changes, next, latest, store },
   * where each change is { seq, op: 'upsert', session_type, session_id, version, session } (no session with
   * idsOnly), { seq, op: 'delete' | 'expire' | 'evict', session_type, session_id } (a delete call, or the store's
   * bounds: the session expired, or was evicted to keep a bound) or { seq, op: 'drop', session_type }. Pass `next` as
   * `after` next time. store is the store's identity (32 hex digits): change numbers are a store's own and start
   * again from 1 in a store made anew, so a follower keeps store with its number and starts again from
   * exportWithSeq() when it differs. Throws a FeedTruncatedError when the reader fell behind what the feed keeps
   * (feedBytes).
   */
  changes(after, options) {
    return parseChanges(this.changesRaw(after, options));
  }

  /** Merges an export (JSON text/bytes) atomically; returns the number of records imported. */
  importRaw(dataJson) {
    this.#h();
    const data = payloadData(dataJson, 'data');
    const len = payloadLength(data);
    const L = this.#lib;
    const st = L.import(this.#h(), data, len, L.pLen, L.pErr);
    return countResult(L, st);
  }

  /** Merges an export object ({ session_id: session }) atomically; returns the number of records imported. */
  import(data) {
    this.#h();
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw typeError(`import data must be an object keyed by session_id, got ${describe(data)}`);
    }
    return this.importRaw(stringify(data, 'data'));
  }

  // --- handles ------------------------------------------------------------------------------------------------

  /**
   * A new handle on the same data, in another mode (or this one when mode is omitted). Close it on its own;
   * the data lives until the last handle is closed.
   */
  share(mode) {
    this.#h();
    const m = optString(mode, 'mode');
    const L = this.#lib;
    const outStore = [null];
    const outError = [null];
    const st = L.share(this.#h(), m, outStore, outError);
    if (st !== OK) throw makeError(st, errorText(L, st, outError[0]));
    adopting = { lib: L, handle: outStore[0], mode: m === null ? this.#mode : m };
    try {
      return new SessionStore();
    } finally {
      adopting = null;
    }
  }

  /**
   * Releases the handle. Idempotent; every other method throws a CLOSED SessionStoreError afterwards. Closing the
   * last handle on a durable store fsyncs its journal and releases the directory; it cannot report a failure, so
   * call sync() first when you must know that everything is on disk.
   */
  close() {
    const h = this.#handle;
    if (h === null) return;
    this.#handle = null; // first, so nothing can reach the freed handle again
    registry.unregister(this);
    // An asynchronous call (test hook) still running on a worker thread uses the handle: it is closed when the
    // last one returns. Every call made from now on throws CLOSED, as after any close().
    if (this.#pending > 0) this.#closeWhenIdle = h;
    else this.#lib.close(h);
  }

  // --- asynchronous calls: a test hook, not part of the API -----------------------------------------------------
  //
  // The API is synchronous. To test that concurrent appends and compare-and-set loops work when the calls really
  // run at the same time in the library, test/concurrency.test.js needs calls on several threads at once on one
  // store: koffi's `fn.async` runs a C call on a libuv worker thread. That is what this hook does, for three
  // operations, with the same koffi declarations and the same decoding as the synchronous methods. Each call has
  // its own out-parameter block (the scratch block serves synchronous calls, one at a time). Its arguments are
  // converted before the handle is taken, as everywhere; koffi copies the strings before the call is queued. The
  // pending count keeps the native handle open until every call in flight has returned (close() defers to it),
  // and the completion callback holds `this`, so the FinalizationRegistry cannot close it meanwhile either.

  #async(op, args) {
    try {
      this.#h();
      let fn;
      let cargs;
      let decode;
      if (op === 'appendRuns') {
        const [sessionId, runs, options] = args;
        const sid = reqString(sessionId, 'sessionId');
        if (!Array.isArray(runs)) throw typeError(`runs must be an array of JSON values, got ${describe(runs)}`);
        const text = stringify(runs, 'runs');
        const uid = userScope(options, 'appendRuns');
        [fn, cargs, decode] = [this.#lib.appendRuns, [sid, uid, text, utf8Length(text)], parsedJson];
      } else if (op === 'upsertIf') {
        const [session, expectedVersion] = args;
        const expected = u64Arg(expectedVersion, 'expectedVersion');
        const text = stringify(session, 'session');
        [fn, cargs, decode] = [this.#lib.upsertIf, [text, utf8Length(text), expected], parsedJson];
      } else if (op === 'read') {
        const [sessionId, userId] = args;
        const sid = reqString(sessionId, 'sessionId');
        const uid = optString(userId, 'userId');
        [fn, cargs, decode] = [this.#lib.read, [sid, uid], parsedJsonOrNull];
      } else {
        throw invalidArgument(`no asynchronous ${op}`);
      }
      return this.#callAsync(fn, cargs, decode);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #callAsync(fn, args, decode) {
    const L = this.#lib;
    const h = this.#h(); // after the arguments were converted
    const base = koffi.alloc('uint64_t', SCRATCH_SLOTS);
    const O = { ...outViews(base), free: L.free, statusStr: L.statusStr };
    this.#pending++;
    return new Promise((resolve, reject) => {
      const done = (err, status) => {
        try {
          if (err) reject(err);
          else resolve(decode(O, status));
        } catch (e) {
          reject(e);
        } finally {
          koffi.free(base);
          this.#settled();
        }
      };
      try {
        fn.async(h, ...args, base, base + 8n, base + 16n, done);
      } catch (e) {
        done(e);
      }
    });
  }

  #settled() {
    if (--this.#pending === 0 && this.#closeWhenIdle !== null) {
      const h = this.#closeWhenIdle;
      this.#closeWhenIdle = null;
      this.#lib.close(h);
    }
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

/** The library's version string, e.g. "0.4.0". */
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
  PermissionDeniedError,
  IoError,
  LockedError,
  CorruptError,
  PoisonedError,
  VersionMismatchError,
  FeedTruncatedError,
  FullError,
  UnavailableError,
  ClosedError,
  Status,
  version,
  DEFAULT_LIBRARY_PATH,
  BINDING_VERSION: PACKAGE_VERSION,
};
module.exports.default = module.exports;
// For the tests only, not part of the API (not enumerable, not in the ESM entry or the declarations).
Object.defineProperty(module.exports, '_internal', {
  value: Object.freeze({ STATUS_TABLE, checkStatusTable, PREBUILD_LIBRARY_PATH, asyncCall, seqNumber, parseChanges }),
});
