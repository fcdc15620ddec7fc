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
  [key: string]: unknown;
}

/** A session as the store returns it: session_type and the timestamps are always present. */
export interface StoredSession extends Session {
  session_type: SessionMode;
  created_at: number;
  updated_at: number;
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

export type SortBy = 'created_at' | 'updated_at' | 'session_id';
export type SortOrder = 'asc' | 'desc';

/**
 * Query keys (camelCase; the library's snake_case names are accepted too). Timestamps are inclusive. A value
 * of the wrong type is a TypeError; a number that is not an integer in its range (NaN, Infinity, fractions,
 * an invalid Date) is a RangeError, never sent as null.
 */
export interface Query {
  userId?: string | null;
  entityId?: string | null;
  /** Case-insensitive substring of session_data.session_name. */
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
}

export interface QueryResult<T extends Session = StoredSession> {
  sessions: T[];
  /** Matches before paging (limit/offset). */
  total: number;
}

export interface Stats {
  /** This handle's mode. */
  mode: SessionMode;
  /** Sessions in the store, every type (all handles sharing the data). */
  sessions: number;
  /** Bytes of their stored JSON. */
  bytes: number;
  /** Sessions per type. */
  by_type: Record<SessionMode, number>;
}

/** Every session of every type keyed by session_id (Agno's storage_dict shape). */
export type ExportData = Record<string, Session>;

export interface OpenOptions {
  /** Default 'agent'. */
  mode?: SessionMode;
  /**
   * Largest accepted session in bytes of JSON: an integer from 1 to SIZE_MAX. Unset, the library's default
   * applies (max_session_bytes of ss_store_open).
   */
  maxSessionBytes?: number | bigint;
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
export declare class ClosedError extends SessionStoreError {}

export declare class SessionStore {
  /** Opens a new, empty store. Throws SessionStoreError (INVALID_ARGUMENT for a bad option). */
  constructor(options?: OpenOptions);
  /** Same as new SessionStore(options). */
  static open(options?: OpenOptions): SessionStore;

  readonly mode: SessionMode;
  readonly closed: boolean;
  /** The shared library this store was loaded from. */
  readonly libraryPath: string;

  upsert<T extends Session = StoredSession>(session: Session): T;
  upsertRaw(sessionJson: JsonInput): string;
  /** Atomic: all sessions are stored or none. */
  upsertMany<T extends Session = StoredSession>(sessions: readonly Session[]): T[];
  upsertManyRaw(sessionsJson: JsonInput): string;

  /** null when absent, of another type, or owned by another user than userId. */
  read<T extends Session = StoredSession>(sessionId: string, userId?: string | null): T | null;
  readRaw(sessionId: string, userId?: string | null): string | null;

  getAllSessionIds(options?: FilterOptions): string[];
  getAllSessionIdsRaw(options?: FilterOptions): string;
  getAllSessions<T extends Session = StoredSession>(options?: FilterOptions): T[];
  getAllSessionsRaw(options?: FilterOptions): string;
  getRecentSessions<T extends Session = StoredSession>(options?: RecentOptions): T[];
  getRecentSessionsRaw(options?: RecentOptions): string;

  query<T extends Session = StoredSession>(query?: Query | null): QueryResult<T>;
  /** Query as JSON text with the library's snake_case keys; null = {}. */
  queryRaw(queryJson?: JsonInput | null): string;

  /** Throws NotFoundError when the session is absent. */
  renameSession<T extends Session = StoredSession>(sessionId: string, sessionName: string): T;
  renameSessionRaw(sessionId: string, sessionName: string): string;

  /** Returns how many sessions were removed (absent ids are not errors). */
  deleteSession(sessionId: string): number;
  deleteSessions(sessionIds: readonly string[]): number;
  deleteSessionsRaw(sessionIdsJson: JsonInput): number;
  /** Removes every session of this handle's type; returns how many. */
  drop(): number;

  stats(): Stats;
  statsRaw(): string;
  export(): ExportData;
  exportRaw(): string;
  /** Atomic merge of an export; returns the number of records. */
  import(data: ExportData): number;
  importRaw(dataJson: JsonInput): number;

  /** A new handle on the same data (in another mode, or this one). Close it on its own. */
  share(mode?: SessionMode | null): SessionStore;
  /** Idempotent. Every other method throws a ClosedError (code 'CLOSED') afterwards. */
  close(): void;
  [Symbol.dispose](): void;
}

/** The native library's version, e.g. "0.1.0". */
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
  ClosedError: typeof ClosedError;
  Status: typeof Status;
  version: typeof version;
  DEFAULT_LIBRARY_PATH: string;
  BINDING_VERSION: string;
};
export default sessionstore;
