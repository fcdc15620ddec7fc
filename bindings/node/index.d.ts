// TypeScript declarations for the sessionstore Node binding (index.js / index.mjs).

/** The session type a handle works on. */
export type SessionMode = 'agent' | 'team' | 'workflow' | 'workflow_v2';

/** Error codes carried by SessionStoreError#code. */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'INVALID_JSON'
  | 'INVALID_SESSION'
  | 'CONFLICT'
  | 'TOO_LARGE'
  | 'INTERNAL'
  | 'PERMISSION_DENIED'
  | 'IO'
  | 'LOCKED'
  | 'CORRUPT'
  | 'POISONED'
  | 'VERSION_MISMATCH'
  | 'FEED_TRUNCATED'
  | 'FULL'
  | 'UNAVAILABLE'
  | 'CLOSED';

/**
 * Numeric statuses (SessionStoreError#status): the C library's ss_status values (include/sessionstore.h), plus
 * CLOSED, a binding-side status (SS_BINDING_STATUS_CLOSED, the same number in every binding, never returned by
 * the C library). The numbers are defined once, in index.js, and checked against the library when it loads.
 */
export declare const Status: Readonly<{
  OK: number;
  NOT_FOUND: number;
  INVALID_ARGUMENT: number;
  INVALID_JSON: number;
  INVALID_SESSION: number;
  CONFLICT: number;
  TOO_LARGE: number;
  INTERNAL: number;
  PERMISSION_DENIED: number;
  IO: number;
  LOCKED: number;
  CORRUPT: number;
  POISONED: number;
  VERSION_MISMATCH: number;
  FEED_TRUNCATED: number;
  FULL: number;
  UNAVAILABLE: number;
  CLOSED: number;
}>;

/** session_data: the display name lives at session_data.session_name; every other key is kept verbatim. */
export interface SessionData {
  session_name?: string | null;
  [key: string]: unknown;
}

/**
 * A session as given to upsert: a JSON object with a non-empty string session_id. The well-known fields are
 * typed; every other field (memory, runs, agent_data, extra_data, ...) is kept verbatim.
 */
export interface Session {
  session_id: string;
  session_type?: SessionMode;
  user_id?: string | null;
  agent_id?: string | null;
  team_id?: string | null;
  workflow_id?: string | null;
  /** Unix seconds. */
  created_at?: number | null;
  /** Unix seconds; set by the store on every upsert. */
  updated_at?: number | null;
  session_data?: SessionData | null;
  /**
   * Set by the store on every write: the number of the change that last wrote the session, so it grows with each
   * write of it. In an input it must be null or a non-negative integer, and is replaced (a session read back can
   * be sent again as is); to make a write depend on it, use upsertIf.
   */
  version?: number | null;
  [key: string]: unknown;
}

/** A session as the store returns it: session_type, the timestamps and the version are always present. */
export interface StoredSession extends Session {
  session_type: SessionMode;
  created_at: number;
  updated_at: number;
  /**
   * The number of the change that last wrote this session (see SessionStore#changes). Parsed by JSON.parse like
   * every member; a store cannot reach 2^53 changes in practice (see ChangeNumber).
   */
  version: number;
}

/** Filters of the listing calls; entityId is agent_id, team_id or workflow_id depending on the mode. */
export interface FilterOptions {
  userId?: string | null;
  entityId?: string | null;
}

export interface RecentOptions extends FilterOptions {
  /**
   * How many sessions (default 2, like Agno); negative or null = all. An integer in the int64 range, else a
   * RangeError (NaN, Infinity and fractions included).
   */
  limit?: number | bigint | null;
}

/**
 * The { userId } options of renameSession, deleteSession and deleteSessions (Agno 2's user_id argument). Given
 * (a non-empty string), only that user's session is touched: renaming another user's is a NotFoundError,
 * deleting it removes nothing. Absent, null or '' means any session of the handle's type. Other keys are an
 * InvalidArgumentError, so that a misspelt key cannot widen the call to every user's sessions.
 */
export interface UserScope {
  userId?: string | null;
}

export type SortBy = 'created_at' | 'updated_at' | 'session_id';
export type SortOrder = 'asc' | 'desc';

/** Which types of session a query lists: one type, a non-empty list of types, or 'any' (every type). */
export type SessionTypeFilter = SessionMode | 'any' | readonly SessionMode[];

/**
 * What a query returns of each session: 'all' (the stored session, the default), 'metadata' (see
 * SessionMetadata), or a list of at most 64 top-level field names (fields a session lacks are left out; more
 * than 64 is a RangeError).
 */
export type QueryFields = 'all' | 'metadata' | readonly string[];

/**
 * A session as `fields: 'metadata'` returns it: what the store knows without reading the session, for list
 * views (its cost does not grow with the transcript).
 */
export interface SessionMetadata {
  session_id: string;
  session_type: SessionMode;
  user_id: string | null;
  /** The entity field of the session's type is present (null when unset): agent_id, team_id or workflow_id. */
  agent_id?: string | null;
  team_id?: string | null;
  workflow_id?: string | null;
  created_at: number;
  updated_at: number;
  /** Only when the session has a name. */
  session_data?: { session_name: string };
}

/**
 * Query keys (camelCase; the library's snake_case names are accepted too). Timestamps are inclusive. A value
 * of the wrong type is a TypeError; a number that is not an integer in its range (NaN, Infinity, fractions,
 * an invalid Date) is a RangeError, never sent as null.
 */
export interface Query {
  /** Default: the handle's mode. 'any' or a list of types queries across types. */
  sessionType?: SessionTypeFilter | null;
  userId?: string | null;
  entityId?: string | null;
  /** Substring of session_data.session_name, compared after full Unicode case folding of both. */
  sessionName?: string | null;
  /** Unix seconds in the int64 range (a Date is converted). */
  createdAfter?: number | bigint | Date | null;
  createdBefore?: number | bigint | Date | null;
  updatedAfter?: number | bigint | Date | null;
  updatedBefore?: number | bigint | Date | null;
  /** Default created_at. */
  sortBy?: SortBy | null;
  /** Default desc. */
  sortOrder?: SortOrder | null;
  /** In the uint64 range; null = all. */
  limit?: number | bigint | null;
  /** In the uint64 range. */
  offset?: number | bigint | null;
  /** Default 'all'. */
  fields?: QueryFields | null;
}

export interface QueryResult<T = StoredSession> {
  sessions: T[];
  /** Matches before paging (limit/offset). */
  total: number;
}

/** What opening a durable store found (Stats#durability.recovery). */
export interface RecoveryStats {
  /** Records loaded from the snapshot. */
  snapshot_records: number;
  /** Records replayed from the journal after it. */
  journal_records: number;
  /** Bytes of a torn last append (a crash in the middle of a write) cut off. */
  torn_bytes_dropped: number;
  /** Files of an interrupted compaction deleted. */
  files_removed: number;
}

/** A durable store's files (Stats#durability; null for a store in memory). */
export interface DurabilityStats {
  /** The directory, as given in the path option. */
  path: string;
  sync: SyncPolicy;
  /** Bytes of journal and snapshot a reopen would read. */
  journal_bytes: number;
  snapshot_bytes: number;
  /** Snapshots written since the store was opened, and those that failed. */
  compactions: number;
  compaction_failures: number;
  /** How long the last snapshot took. */
  last_compaction_ms: number;
  last_compaction_error: string | null;
  /** An fsync failed: writes throw PoisonedError until the store is reopened. */
  poisoned: boolean;
  recovery: RecoveryStats;
}

/** The change feed (Stats#feed; see SessionStore#changes). */
export interface FeedStats {
  /** The store's identity, 32 hexadecimal digits: ChangesResult#store. */
  store: string;
  /** The number of the store's last change (0 before the first). */
  latest: number;
  /** The number of the oldest change the feed keeps (latest + 1 when it keeps none). */
  oldest: number;
  /** How many changes it keeps. */
  kept: number;
  /** What they cost against the budget, in bytes (their sessions' JSON and removed ids, plus 48 a change). */
  bytes: number;
  /** The budget: the feedBytes option (default 16 MiB). */
  budget: number;
}

/**
 * The store's bounds (Stats#bounds; see OpenOptions): what is held against each bound of the options (null: no
 * bound), and how many sessions expired or were evicted since the store was opened.
 */
export interface BoundsStats {
  /** Sessions held, every type (expired sessions not yet reclaimed included). */
  sessions: number;
  /** Bytes of their stored JSON. */
  bytes: number;
  /** The maxSessions option, or null. */
  max_sessions: number | null;
  /** The maxBytes option, or null. */
  max_bytes: number | null;
  /** The userMaxSessions option, or null. */
  user_max_sessions: number | null;
  /** The userMaxBytes option, or null. */
  user_max_bytes: number | null;
  /** The idleExpiryS option in seconds, or null (the library caps it at 2^63 - 1). */
  idle_expiry_s: number | null;
  /** The maxAgeS option in seconds, or null (the library caps it at 2^63 - 1). */
  max_age_s: number | null;
  /** Whether reads refresh the idle time (refreshOnRead). */
  refresh_on_read: boolean;
  /** What a write that would exceed a bound does (whenFull). */
  when_full: WhenFull;
  /** Sessions reclaimed after they expired, since the store was opened. */
  expired: number;
  /** Sessions evicted to keep a bound, since the store was opened. */
  evicted: number;
}

export interface Stats {
  /** This handle's mode. */
  mode: SessionMode;
  /** Sessions in the store, every type (all handles sharing the data; expired ones not yet reclaimed included). */
  sessions: number;
  /** Bytes of their stored JSON. */
  bytes: number;
  /** Sessions per type. */
  by_type: Record<SessionMode, number>;
  /** The change feed, shared by every handle on the store. */
  feed: FeedStats;
  /** The store's bounds and what is held against them, shared by every handle on the store. */
  bounds: BoundsStats;
  /** null for a store in memory. */
  durability: DurabilityStats | null;
}

/**
 * A uint64_t argument: an expected version, or the change number `after`. A bigint from 0 to 2^64 - 1, or a number
 * that is a safe integer (0 to 2^53 - 1). Anything else is a RangeError (a fraction, NaN, a negative value, a
 * number above Number.MAX_SAFE_INTEGER, which may already be rounded: pass a bigint) or a TypeError (not a number
 * or bigint), both also InvalidArgumentErrors; never wrapped or rounded.
 */
export type Uint64 = number | bigint;

/**
 * The store's change numbers (seq, next, latest, version) are returned as numbers. The store numbers its changes
 * one by one from 1, so they stay far below 2^53 (about 285 years at a million changes a second); should one
 * exceed Number.MAX_SAFE_INTEGER, changes() and exportWithSeq() throw a TooLargeError rather than return a rounded
 * number. Their Raw variants are exact (JSON text; exportWithSeqRaw's seq is a bigint).
 */
export type ChangeNumber = number;

/** A change that stored a session (upsert, batch, rename, append, import: one change a session). */
export interface UpsertChange<T extends Session = StoredSession> {
  seq: ChangeNumber;
  op: 'upsert';
  session_type: SessionMode;
  session_id: string;
  /** The session's version after this change: equal to seq. */
  version: ChangeNumber;
  /** The session as this change stored it (absent with idsOnly: see UpsertIdChange). */
  session: T;
}

/** An upsert change as changes(after, { idsOnly: true }) gives it: without the session. */
export interface UpsertIdChange {
  seq: ChangeNumber;
  op: 'upsert';
  session_type: SessionMode;
  session_id: string;
  version: ChangeNumber;
}

/**
 * Why a session left the store: 'delete' (deleteSession, deleteSessions: one change a session, deleteSessionIf),
 * 'expire' (it expired: idleExpiryS, maxAgeS) or 'evict' (it was evicted to keep a bound: maxSessions, maxBytes,
 * userMaxSessions, userMaxBytes).
 */
export type RemovalOp = 'delete' | 'expire' | 'evict';

/** A change that removed one session: a delete call, or the store's bounds (op says which). */
export interface RemovalChange {
  seq: ChangeNumber;
  op: RemovalOp;
  session_type: SessionMode;
  session_id: string;
}

/** The removal changes, by their former name (before 0.4 op was always 'delete'). */
export type DeleteChange = RemovalChange;

/** A drop(): every session of session_type removed, in one change. */
export interface DropChange {
  seq: ChangeNumber;
  op: 'drop';
  session_type: SessionMode;
}

/** One change of the feed, with the sessions it stored. */
export type Change<T extends Session = StoredSession> = UpsertChange<T> | RemovalChange | DropChange;
/** One change of the feed without sessions ({ idsOnly: true }). */
export type IdChange = UpsertIdChange | RemovalChange | DropChange;

export interface ChangesOptions {
  /**
   * The most changes to return: an integer from 1 to SIZE_MAX (default 10000, which is also the most one call
   * returns, whatever the limit: SS_MAX_CHANGES). null = the default.
   */
  limit?: number | bigint | null;
  /** Leave the sessions out (UpsertIdChange). Default false. */
  idsOnly?: boolean | null;
}

/** One page of the change feed. */
export interface ChangesResult<C = Change> {
  /** Oldest first, numbered one by one. */
  changes: C[];
  /** The `after` of the next call: the last change given, or `after` itself when there were none. */
  next: ChangeNumber;
  /** The number of the store's last change. */
  latest: ChangeNumber;
  /**
   * The store's identity, 32 hexadecimal digits (also Stats#feed.store). Change numbers are a store's own and start
   * again from 1 in a store made anew (an in-memory store, or a durable store in another directory); a durable store
   * keeps its identity across reopens (the file IDENTITY in its directory). A follower keeps it with the number it
   * remembers, and starts again from exportWithSeq() when the identity it sees differs.
   */
  store: string;
}

/** What exportWithSeq returns: every session, and the number of the last change the export holds. */
export interface ExportWithSeq {
  data: ExportData;
  /** Follow the store from here: changes(seq). */
  seq: ChangeNumber;
}

/** What exportWithSeqRaw returns: exportRaw's JSON text, and the exact number of its last change. */
export interface ExportWithSeqRaw {
  json: string;
  seq: bigint;
}

/** Every session of every type keyed by session_id (Agno's storage_dict shape). */
export type ExportData = Record<string, Session>;

export type NonFiniteNumbers = 'reject' | 'null';

/**
 * When a durable store fsyncs its journal: 'always' (before each mutation returns), 'interval' (every
 * syncIntervalMs, from a background thread) or 'os' (only on close, compaction and sync()).
 */
export type SyncPolicy = 'always' | 'interval' | 'os';

/**
 * What a write that would exceed a bound does: 'evict' (the default) removes the least recently written sessions
 * first (for a user over a quota, that user's own), 'refuse' throws a FullError and changes nothing.
 */
export type WhenFull = 'evict' | 'refuse';

/**
 * Where a store's data lives: 'local' (the default: in this process, or in the directory of path) or 'redis' (on a
 * Redis 7+ or Valkey server, shared by every store opened on the same url and namespace, from any process).
 */
export type Backend = 'local' | 'redis';

export interface OpenOptions {
  /** Default 'agent'. */
  mode?: SessionMode;
  /**
   * Largest accepted session in bytes of JSON: an integer from 1 to SIZE_MAX. Unset, the library's default
   * applies (max_session_bytes of ss_store_open).
   */
  maxSessionBytes?: number | bigint;
  /**
   * What the store does with NaN, Infinity and -Infinity (not JSON, but Python's json.dumps writes them) in raw
   * sessions, batches and imports: 'reject' (default) makes them an InvalidJsonError, 'null' stores each as null.
   * It applies to the store's data, so to every handle share() makes.
   */
  nonFiniteNumbers?: NonFiniteNumbers;
  /**
   * A directory (created if missing) that makes the store durable: opening loads what it holds, and every
   * mutation is journaled before it returns. One open store owns a directory: opening it again, from this
   * process or another, throws LockedError until the last handle on the first is closed (use share()).
   * Damaged files throw CorruptError; a directory that cannot be created or read, IoError. Without it the store
   * lives in memory and the options below do nothing.
   */
  path?: string;
  /** Default 'always'. Anything else is an InvalidArgumentError naming the value. */
  sync?: SyncPolicy;
  /** The period of sync: 'interval', in milliseconds (default 1000): an integer from 1 to 2^64 - 1. */
  syncIntervalMs?: number | bigint;
  /**
   * A snapshot is written (in the background) when the journal since the last one exceeds both the live
   * sessions' bytes times compactFactor (default 2, at least 1) and compactMinBytes (default 64 MiB).
   */
  compactFactor?: number | bigint;
  compactMinBytes?: number | bigint;
  /**
   * How much the change feed keeps (see SessionStore#changes), in bytes of the changes it holds: an integer from 0
   * to SIZE_MAX (feed_bytes of ss_store_open; default 16 MiB, the last 16,000 writes of 1 KiB sessions). 0 keeps
   * no change: changes() then only says that there is nothing new, or throws FeedTruncatedError. It belongs to the
   * store's data, so to every handle share() makes.
   */
  feedBytes?: number | bigint;
  /**
   * Bounds (all optional; 0, null or absent: no bound; see ss_store_open's "Bounds" in include/sessionstore.h).
   * idleExpiryS: a session not written for more than this many seconds (by its updated_at) expires: read returns null for it,
   * and listings, queries and exports leave it out; its memory is reclaimed within about a second, and the feed
   * shows an 'expire' change. An integer from 0 to 2^64 - 1 (the library caps it at 2^63 - 1).
   */
  idleExpiryS?: number | bigint;
  /** A session whose created_at is more than this many seconds old expires, however active: an integer from 0 to 2^64 - 1. */
  maxAgeS?: number | bigint;
  /**
   * true: read() and readRaw() refresh the idle time too (listings and queries do not). Needs idleExpiryS, else an
   * InvalidArgumentError. Remembered in memory only: after a durable store reopens, idle time counts from
   * updated_at. Default false.
   */
  refreshOnRead?: boolean;
  /** The most sessions the store holds, every type: an integer from 0 to SIZE_MAX. */
  maxSessions?: number | bigint;
  /** The most bytes of stored JSON the store holds (the process holds about 1.3 times that): 0 to SIZE_MAX. */
  maxBytes?: number | bigint;
  /** The most sessions of each user_id (sessions without one are not counted): 0 to SIZE_MAX. */
  userMaxSessions?: number | bigint;
  /** The most bytes of each user_id's sessions: 0 to SIZE_MAX. */
  userMaxBytes?: number | bigint;
  /**
   * What a write that would exceed a bound does: 'evict' (default: the least recently written sessions go first,
   * with refreshOnRead reads count too; each eviction is an 'evict' change of the feed) or 'refuse' (a FullError,
   * nothing changed). A write that cannot fit even in an empty store or quota is a FullError either way. Another
   * value is an InvalidArgumentError naming it.
   */
  whenFull?: WhenFull;
  /**
   * Where the store's data lives (backend of ss_store_open): 'local' (default) or 'redis'. With 'redis' the
   * local-only options (path, sync, syncIntervalMs, compactFactor, compactMinBytes, maxSessions, maxBytes,
   * userMaxSessions, userMaxBytes, whenFull) are an InvalidArgumentError naming them, and url is required. The expiry
   * options work, and are the namespace's: a store opened with others than the namespace's, while it holds
   * sessions, is an InvalidArgumentError. Every method works the same on a Redis store; a
   * call made while the server cannot be used throws an UnavailableError. Another value is an InvalidArgumentError.
   */
  backend?: Backend;
  /**
   * The Redis server of backend 'redis', e.g. 'redis://127.0.0.1:6379/0' (required with it; without backend 'redis'
   * an InvalidArgumentError).
   */
  url?: string;
  /**
   * The namespace of a Redis store, part of every key it writes: 1 to 128 bytes (default 'sessionstore'). Stores
   * opened on the same url and namespace share their sessions and their change feed. Only with backend 'redis'.
   */
  namespace?: string;
  /**
   * How long a Redis store waits to connect to its server, in milliseconds: an integer from 1 to 2^64 - 1 (default
   * 2000). Only with backend 'redis'.
   */
  connectTimeoutMs?: number | bigint;
  /**
   * How long a Redis store waits for one reply of its server, in milliseconds (a listing of a whole large store is
   * one reply): an integer from 1 to 2^64 - 1 (default 10000). Only with backend 'redis'.
   */
  commandTimeoutMs?: number | bigint;
  /**
   * The shared library to load; else $SESSIONSTORE_LIB, else the one bundled in the package
   * (prebuilds/<platform>-<arch>/), else ../../target/release/libsessionstore.so. A path given (this option or
   * the variable) is the only one tried: missing or unloadable, it is an InternalError naming it.
   */
  libraryPath?: string;
}

/**
 * A raw JSON payload: text (sent as UTF-8) or bytes in a Uint8Array (a Buffer, or a subclass) over an
 * ArrayBuffer. A Proxy, a DataView, another typed array, a detached buffer or a SharedArrayBuffer is a TypeError.
 */
export type JsonInput = string | Uint8Array;

/**
 * Bad arguments are thrown as a TypeError (wrong kind of value) or RangeError (number out of range) with code
 * 'INVALID_ARGUMENT' and status Status.INVALID_ARGUMENT; `instanceof SessionStoreError` and
 * `instanceof InvalidArgumentError` hold for them too.
 */
export declare class SessionStoreError extends Error {
  constructor(message: string, code: ErrorCode, status: number, options?: { cause?: unknown });
  readonly code: ErrorCode;
  /** A Status value: the library's ss_status, or Status.CLOSED (a binding-side status). */
  readonly status: number;
}
export declare class NotFoundError extends SessionStoreError {}
export declare class InvalidArgumentError extends SessionStoreError {}
export declare class InvalidJsonError extends SessionStoreError {}
export declare class InvalidSessionError extends SessionStoreError {}
export declare class ConflictError extends SessionStoreError {}
export declare class TooLargeError extends SessionStoreError {}
export declare class InternalError extends SessionStoreError {}
/** An upsert of a session whose stored user_id is set and differs from the input's; nothing was changed. */
export declare class PermissionDeniedError extends SessionStoreError {}
/** A durable store's disk I/O failed (full disk, failed write or fsync; a directory that cannot be opened). */
export declare class IoError extends SessionStoreError {}
/** The directory of a durable store is in use by another open store, in this process or another. */
export declare class LockedError extends SessionStoreError {}
/** A durable store's files are damaged or are not a store's; the message names the file and offset. */
export declare class CorruptError extends SessionStoreError {}
/** An earlier fsync of this durable store failed: writes are refused, reads go on; reopen it. */
export declare class PoisonedError extends SessionStoreError {}
/**
 * A conditional write (upsertIf, renameSessionIf, deleteSessionIf) expected another version of the session than
 * the one stored (0 standing for "no such session"): another writer came first. Nothing was changed; read the
 * session again and retry.
 */
export declare class VersionMismatchError extends SessionStoreError {}
/**
 * changes() was asked for the changes after a number the feed no longer holds (it keeps the latest changes up to
 * feedBytes), or one this store never reached. Start again from exportWithSeq(), then follow changes(seq).
 */
export declare class FeedTruncatedError extends SessionStoreError {}
/**
 * A write would take the store past a bound (maxSessions, maxBytes) or a user past a quota (userMaxSessions,
 * userMaxBytes) of a store opened with whenFull: 'refuse', or the write alone cannot fit under the bound (either
 * policy). Nothing was changed; the message names the bound. Code 'FULL', status Status.FULL (15).
 */
export declare class FullError extends SessionStoreError {}
/**
 * A Redis store's server cannot be used: it is unreachable, did not answer within commandTimeoutMs, is loading or
 * restarting, is out of memory (maxmemory) or is a read-only replica. Nothing was changed, unless the message says
 * the reply was lost (a timeout or a dropped connection after the command was sent): then the change may have been
 * applied, and a conditional write (upsertIf) is the way to retry safely. The store reconnects by itself on a later
 * call once the server is back. Code 'UNAVAILABLE', status Status.UNAVAILABLE (16).
 */
export declare class UnavailableError extends SessionStoreError {}
export declare class ClosedError extends SessionStoreError {}

export declare class SessionStore {
  /**
   * Opens a new, empty store, or with options.path a durable one holding what the directory holds, or with
   * backend 'redis' a store on a Redis server holding what its namespace holds. Throws SessionStoreError
   * (INVALID_ARGUMENT for a bad option; LOCKED, CORRUPT or IO for a durable store; UNAVAILABLE when the Redis
   * server cannot be used).
   */
  constructor(options?: OpenOptions);
  /** Same as new SessionStore(options). */
  static open(options?: OpenOptions): SessionStore;

  readonly mode: SessionMode;
  readonly closed: boolean;
  /** The shared library this store was loaded from. */
  readonly libraryPath: string;

  /**
   * A stored session whose user_id is set belongs to that user: an upsert with another user_id (null or absent
   * included) throws PermissionDeniedError and changes nothing. import() is not bound by this. In a store with
   * bounds (see OpenOptions), every write (upsert, upsertMany, upsertIf, renameSession, appendRuns, import) may
   * evict the least recently written sessions to make room or, with whenFull: 'refuse', throw a FullError.
   */
  upsert<T extends Session = StoredSession>(session: Session): T;
  upsertRaw(sessionJson: JsonInput): string;
  /** Atomic: all sessions are stored or none (PermissionDeniedError names the element: "sessions[i]: ..."). */
  upsertMany<T extends Session = StoredSession>(sessions: readonly Session[]): T[];
  upsertManyRaw(sessionsJson: JsonInput): string;
  /**
   * Compare-and-set: upsert, only if the stored session's version is expectedVersion (0: the session must not exist
   * yet). Otherwise throws VersionMismatchError and changes nothing (the type and owner are checked first, as for
   * upsert: ConflictError, PermissionDeniedError). Returns the stored session, with its new version.
   */
  upsertIf<T extends Session = StoredSession>(session: Session, expectedVersion: Uint64): T;
  upsertIfRaw(sessionJson: JsonInput, expectedVersion: Uint64): string;

  /**
   * null when absent, expired, of another type, or owned by another user than userId. With refreshOnRead, the read
   * refreshes the session's idle time.
   */
  read<T extends Session = StoredSession>(sessionId: string, userId?: string | null): T | null;
  readRaw(sessionId: string, userId?: string | null): string | null;

  getAllSessionIds(options?: FilterOptions): string[];
  getAllSessionIdsRaw(options?: FilterOptions): string;
  getAllSessions<T extends Session = StoredSession>(options?: FilterOptions): T[];
  getAllSessionsRaw(options?: FilterOptions): string;
  getRecentSessions<T extends Session = StoredSession>(options?: RecentOptions): T[];
  getRecentSessionsRaw(options?: RecentOptions): string;

  /** fields: 'metadata': each session's metadata. */
  query(query: Query & { fields: 'metadata' }): QueryResult<SessionMetadata>;
  /** fields: a list of names: only those top-level fields of each session. */
  query<T extends Session = StoredSession>(query: Query & { fields: readonly string[] }): QueryResult<Partial<T>>;
  /** Whole sessions (fields absent, null or 'all'). */
  query<T extends Session = StoredSession>(query?: (Query & { fields?: 'all' | null }) | null): QueryResult<T>;
  /** fields not known statically: whole sessions or parts of them. */
  query<T extends Session = StoredSession>(query: Query): QueryResult<Partial<T>>;
  /** Query as JSON text with the library's snake_case keys; null = {}. */
  queryRaw(queryJson?: JsonInput | null): string;

  /** Throws NotFoundError when the session is absent, or (with options.userId) not that user's. */
  renameSession<T extends Session = StoredSession>(sessionId: string, sessionName: string, options?: UserScope | null): T;
  renameSessionRaw(sessionId: string, sessionName: string, options?: UserScope | null): string;
  /**
   * renameSession, only if the session's version is expectedVersion; else VersionMismatchError, nothing changed. A
   * session the call cannot see (absent, another type, with options.userId another user's) has version 0: 0 gives
   * NotFoundError, another version VersionMismatchError.
   */
  renameSessionIf<T extends Session = StoredSession>(
    sessionId: string,
    sessionName: string,
    expectedVersion: Uint64,
    options?: UserScope | null,
  ): T;
  renameSessionIfRaw(sessionId: string, sessionName: string, expectedVersion: Uint64, options?: UserScope | null): string;

  /**
   * Appends runs (one or more JSON values; Agno's are objects) to the session's memory.runs, or runs for a
   * workflow_v2 handle, as one atomic step (a missing or null memory or runs is created; every other byte of the
   * session is kept). Concurrent appends, from any thread or handle, all land, unlike read + push + upsert. Returns
   * the stored session. NotFoundError when the session is absent or (with options.userId) another user's; an
   * empty array is an InvalidArgumentError, a non-array a TypeError.
   */
  appendRuns<T extends Session = StoredSession>(sessionId: string, runs: readonly unknown[], options?: UserScope | null): T;
  /** runsJson: a JSON array of one or more runs. */
  appendRunsRaw(sessionId: string, runsJson: JsonInput, options?: UserScope | null): string;

  /**
   * Returns how many sessions were removed (absent ids are not errors); with options.userId, only that user's
   * sessions are removed.
   */
  deleteSession(sessionId: string, options?: UserScope | null): number;
  deleteSessions(sessionIds: readonly string[], options?: UserScope | null): number;
  deleteSessionsRaw(sessionIdsJson: JsonInput, options?: UserScope | null): number;
  /**
   * deleteSession, only if the session's version is expectedVersion (0: it must not exist, and nothing is removed);
   * else VersionMismatchError, nothing removed. Returns 0 or 1.
   */
  deleteSessionIf(sessionId: string, expectedVersion: Uint64, options?: UserScope | null): number;
  /** Removes every session of this handle's type; returns how many. */
  drop(): number;

  stats(): Stats;
  statsRaw(): string;
  /**
   * fsyncs a durable store's journal now, whatever its sync policy; a no-op in memory. Throws IoError (the fsync
   * failed: the store is poisoned from then on) or PoisonedError.
   */
  sync(): void;
  export(): ExportData;
  exportRaw(): string;
  /**
   * export() and the number of the last change it holds, from one consistent state: apply data, then follow
   * changes(seq): nothing is missed and nothing is seen twice.
   */
  exportWithSeq(): ExportWithSeq;
  exportWithSeqRaw(): ExportWithSeqRaw;

  /**
   * The store's changes numbered above `after`, oldest first, every type whatever this handle's mode; pass `next`
   * as `after` next time. FeedTruncatedError when the feed no longer holds the changes after `after` (the reader
   * fell behind feedBytes) or `after` is beyond the latest change (another store, or an in-memory store made
   * anew): start again from exportWithSeq(). Another store that has reached `after` is told by its identity,
   * ChangesResult#store: keep it with the number, and start again from exportWithSeq() when it differs. A session
   * removed by the store's bounds is a RemovalChange with op 'expire' or 'evict' (an eviction is numbered after the
   * write that made room with it).
   */
  changes(after: Uint64, options: ChangesOptions & { idsOnly: true }): ChangesResult<IdChange>;
  changes<T extends Session = StoredSession>(
    after: Uint64,
    options?: (ChangesOptions & { idsOnly?: false | null }) | null,
  ): ChangesResult<Change<T>>;
  /** idsOnly not known statically: upsert changes may or may not carry their session. */
  changes<T extends Session = StoredSession>(after: Uint64, options: ChangesOptions): ChangesResult<Change<T> | IdChange>;
  /**
   * The feed as JSON text '{"changes":[...],"next":N,"latest":L,"store":"<32 hex digits>"}', numbers exactly as the
   * library wrote them.
   */
  changesRaw(after: Uint64, options?: ChangesOptions | null): string;

  /** Atomic merge of an export; returns the number of records. */
  import(data: ExportData): number;
  importRaw(dataJson: JsonInput): number;

  /** A new handle on the same data (in another mode, or this one). Close it on its own. */
  share(mode?: SessionMode | null): SessionStore;
  /**
   * Idempotent. Every other method throws a ClosedError (code 'CLOSED') afterwards. Closing the last handle on a
   * durable store fsyncs it and releases its directory (call sync() first to learn of a failure).
   */
  close(): void;
  [Symbol.dispose](): void;
}

/** The native library's version, e.g. "0.4.0". */
export declare function version(options?: { libraryPath?: string }): string;

/** Where the library is looked for last: ../../target/release/libsessionstore.so next to the package. */
export declare const DEFAULT_LIBRARY_PATH: string;
/** This package's version. */
export declare const BINDING_VERSION: string;

declare const sessionstore: {
  SessionStore: typeof SessionStore;
  SessionStoreError: typeof SessionStoreError;
  NotFoundError: typeof NotFoundError;
  InvalidArgumentError: typeof InvalidArgumentError;
  InvalidJsonError: typeof InvalidJsonError;
  InvalidSessionError: typeof InvalidSessionError;
  ConflictError: typeof ConflictError;
  TooLargeError: typeof TooLargeError;
  InternalError: typeof InternalError;
  PermissionDeniedError: typeof PermissionDeniedError;
  IoError: typeof IoError;
  LockedError: typeof LockedError;
  CorruptError: typeof CorruptError;
  PoisonedError: typeof PoisonedError;
  VersionMismatchError: typeof VersionMismatchError;
  FeedTruncatedError: typeof FeedTruncatedError;
  FullError: typeof FullError;
  UnavailableError: typeof UnavailableError;
  ClosedError: typeof ClosedError;
  Status: typeof Status;
  version: typeof version;
  DEFAULT_LIBRARY_PATH: string;
  BINDING_VERSION: string;
};
export default sessionstore;
