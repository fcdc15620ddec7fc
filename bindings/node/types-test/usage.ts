// Type-checked with `tsc -p tsconfig.json` (no emit): the declarations in index.d.ts, used from CommonJS.
import {
  SessionStore,
  SessionStoreError,
  NotFoundError,
  ClosedError,
  PermissionDeniedError,
  LockedError,
  IoError,
  CorruptError,
  PoisonedError,
  VersionMismatchError,
  FeedTruncatedError,
  FullError,
  UnavailableError,
  TooLargeError,
  Status,
  version,
  type Session,
  type StoredSession,
  type QueryResult,
  type Stats,
  type ExportData,
  type ErrorCode,
  type SessionMode,
  type SessionMetadata,
  type SessionTypeFilter,
  type QueryFields,
  type UserScope,
  type NonFiniteNumbers,
  type SyncPolicy,
  type DurabilityStats,
  type RecoveryStats,
  type OpenOptions,
  type Change,
  type IdChange,
  type ChangesResult,
  type ChangesOptions,
  type ExportWithSeq,
  type ExportWithSeqRaw,
  type FeedStats,
  type Uint64,
  type BoundsStats,
  type WhenFull,
  type RemovalOp,
  type RemovalChange,
  type DeleteChange,
  type Backend,
} from 'sessionstore';

interface AgentSession extends Session {
  agent_id: string;
  memory?: { facts: string[] };
}

const v: string = version();
const store: SessionStore = SessionStore.open({ mode: 'agent', maxSessionBytes: 1 << 20 });
const mode: SessionMode = store.mode;
const isClosed: boolean = store.closed;

const stored: StoredSession = store.upsert({ session_id: 's1', user_id: 'u1', agent_id: 'a1', memory: { facts: [] } });
const created: number = stored.created_at;
const typed = store.read<AgentSession>('s1', 'u1');
if (typed !== null) {
  const facts: string[] | undefined = typed.memory?.facts;
  void facts;
}
const maybe: StoredSession | null = store.read('s1');
const raw: string | null = store.readRaw('s1');
const text: string = store.upsertRaw(Buffer.from('{"session_id":"s2"}'));
const many: StoredSession[] = store.upsertMany([{ session_id: 'a' }, { session_id: 'b', session_data: { session_name: 'n' } }]);
const ids: string[] = store.getAllSessionIds({ userId: 'u1', entityId: null });
const all: StoredSession[] = store.getAllSessions();
const recent: StoredSession[] = store.getRecentSessions({ userId: 'u1', limit: 5 });
const everything = store.getRecentSessions({ limit: null });
const q: QueryResult = store.query({ sessionName: 'trip', sortBy: 'updated_at', sortOrder: 'asc', limit: 10, offset: 0 });
const total: number = q.total;
const qr: string = store.queryRaw(null);
const renamed: StoredSession = store.renameSession('s1', 'Trip');
const removed: number = store.deleteSession('a') + store.deleteSessions(['b']) + store.drop();

// Ownership and user-scoped writes; queries across types; projections; non-finite numbers.
const scope: UserScope = { userId: 'u1' };
const mine: StoredSession = store.renameSession('s1', 'Mine', scope);
const mineRaw: string = store.renameSessionRaw('s1', 'Mine', { userId: null });
const removedMine: number =
  store.deleteSession('a', { userId: 'u1' }) +
  store.deleteSessions(['b'], scope) +
  store.deleteSessionsRaw('["c"]', { userId: 'u1' }) +
  store.deleteSessionsRaw(Buffer.from('[]'), null);
const anyType: QueryResult = store.query({ sessionType: 'any', sortBy: 'session_id' });
const twoTypes: QueryResult<AgentSession> = store.query<AgentSession>({ sessionType: ['agent', 'team'] });
const filter: SessionTypeFilter = 'workflow_v2';
const meta: QueryResult<SessionMetadata> = store.query({ sessionType: filter, fields: 'metadata' });
const metaUser: string | null = meta.sessions[0]!.user_id;
const metaName: string | undefined = meta.sessions[0]!.session_data?.session_name;
const picked: QueryResult<Partial<StoredSession>> = store.query({ fields: ['session_id', 'memory'] });
const pickedId: string | undefined = picked.sessions[0]?.session_id;
const whole: number = store.query({ fields: 'all' }).sessions[0]!.created_at;
const fieldsVar: QueryFields = ['session_id'];
const unknownFields: QueryResult<Partial<StoredSession>> = store.query({ fields: fieldsVar });
const nonFinite: NonFiniteNumbers = 'null';
const lenient: SessionStore = new SessionStore({ nonFiniteNumbers: nonFinite });
lenient.upsertRaw('{"session_id":"m","score":NaN}');
lenient.close();
try {
  store.upsert({ session_id: 's1', user_id: 'someone else' });
} catch (e) {
  if (e instanceof PermissionDeniedError) {
    const code: ErrorCode = e.code; // 'PERMISSION_DENIED'
    void code;
  }
}
const deniedStatus: number = Status.PERMISSION_DENIED;
const stats: Stats = store.stats();
const byTeam: number = stats.by_type.team;

// Durable stores: the options, sync(), the durability stats and their errors.
const policy: SyncPolicy = 'interval';
const durableOptions: OpenOptions = {
  mode: 'agent',
  path: '/tmp/sessions',
  sync: policy,
  syncIntervalMs: 200,
  compactFactor: 3n,
  compactMinBytes: 1 << 20,
};
const durable = new SessionStore(durableOptions);
durable.sync();
const durability: DurabilityStats | null = durable.stats().durability;
if (durability !== null) {
  const dir: string = durability.path;
  const syncName: SyncPolicy = durability.sync;
  const recovery: RecoveryStats = durability.recovery;
  const replayed: number = recovery.journal_records + recovery.snapshot_records;
  const lastError: string | null = durability.last_compaction_error;
  void [dir, syncName, replayed, lastError, durability.poisoned, durability.journal_bytes];
}
try {
  new SessionStore({ path: '/tmp/sessions' });
} catch (e) {
  if (e instanceof LockedError) {
    const code: ErrorCode = e.code; // 'LOCKED'
    void code;
  }
  if (e instanceof IoError || e instanceof CorruptError || e instanceof PoisonedError) console.log(e.status);
}
const durableStatuses: number[] = [Status.IO, Status.LOCKED, Status.CORRUPT, Status.POISONED];
durable.close();
const dump: ExportData = store.export();
const imported: number = store.import(dump) + store.importRaw(store.exportRaw());
const team: SessionStore = store.share('team');
team.close();

// 0.3: versions, compare-and-set, atomic appends, the change feed.
const fed = new SessionStore({ feedBytes: 1 << 20 });
const first: StoredSession = fed.upsertIf({ session_id: 'v' }, 0);
const firstVersion: number = first.version;
const inputVersion: number | null | undefined = ({ session_id: 'x', version: 3 } satisfies Session).version;
const again: AgentSession = fed.upsertIf<AgentSession>({ session_id: 'v', agent_id: 'a' }, BigInt(first.version));
// A caller's own session type (extending Session) has an optional version, as every stored member.
const againRaw: string = fed.upsertIfRaw(Buffer.from('{"session_id":"v"}'), again.version ?? 0);
for (;;) {
  const current = fed.read('v');
  if (current === null) break;
  try {
    fed.upsertIf({ ...current, extra: 1 }, current.version);
    break;
  } catch (e) {
    if (!(e instanceof VersionMismatchError)) throw e;
    const code: ErrorCode = e.code; // 'VERSION_MISMATCH'
    void code;
  }
}
const renamedIf: StoredSession = fed.renameSessionIf('v', 'name', 4, { userId: null });
const renamedIfRaw: string = fed.renameSessionIfRaw('v', 'name', 5n);
const appended: AgentSession = fed.appendRuns<AgentSession>('v', [{ run_id: 'r1' }, 'any JSON'], { userId: 'u1' });
const appendedRaw: string = fed.appendRunsRaw('v', '[{"run_id":"r2"}]');
const removedIf: number = fed.deleteSessionIf('v', fed.read('v')!.version) + fed.deleteSessionIf('gone', 0n, scope);
void appended;
const uint: Uint64 = 2n ** 64n - 1n;
const page: ChangesResult<Change> = fed.changes(0, { limit: 100, idsOnly: false });
const changeOptions: ChangesOptions = { limit: 100 };
const pageMaybeIds: ChangesResult<Change | IdChange> = fed.changes(0, changeOptions);
const next: number = page.next + page.latest;
for (const c of page.changes) {
  if (c.op === 'upsert') {
    const s: StoredSession = c.session;
    const v: number = c.version;
    void [s, v, c.session_id];
  } else if (c.op === 'delete') {
    const id: string = c.session_id;
    void id;
  } else {
    const dropped: SessionMode = c.session_type;
    void dropped;
  }
}
const typedPage: ChangesResult<Change<AgentSession>> = fed.changes<AgentSession>(0n, { limit: 10n });
const idsPage: ChangesResult<IdChange> = fed.changes(0, { idsOnly: true });
const mixed = fed.changes(0, { idsOnly: Math.random() > 0.5 });
const mixedSeq: number = mixed.changes[0]!.seq;
const pageRaw: string = fed.changesRaw(uint, { idsOnly: true }) + fed.changesRaw(0);
const snapshot: ExportWithSeq = fed.exportWithSeq();
const snapshotData: ExportData = snapshot.data;
const fromSeq = fed.changes(snapshot.seq);
const snapshotRaw: ExportWithSeqRaw = fed.exportWithSeqRaw();
const exactSeq: bigint = snapshotRaw.seq;
const fromRawSeq: string = fed.changesRaw(snapshotRaw.seq) + snapshotRaw.json;
const feed: FeedStats = fed.stats().feed;
const feedNumbers: number[] = [feed.latest, feed.oldest, feed.kept, feed.bytes, feed.budget];
// The store's identity, in the feed and in stats: a follower keeps it with its number.
const storeId: string = page.store;
const sameStore: boolean = feed.store === idsPage.store && fed.stats().feed.store === storeId;
try {
  fed.changes(0);
} catch (e) {
  if (e instanceof FeedTruncatedError || e instanceof TooLargeError) console.log(e.code, e.status);
}
const newStatuses: number[] = [Status.VERSION_MISMATCH, Status.FEED_TRUNCATED];
fed.close();
void [first, firstVersion, inputVersion, againRaw, renamedIf, renamedIfRaw, appendedRaw, removedIf, next, typedPage];
void [pageMaybeIds, idsPage, mixedSeq, pageRaw, snapshotData, fromSeq, exactSeq, fromRawSeq, feedNumbers, newStatuses];
void [storeId, sameStore];

// 0.4: bounds (expiry, capacity, quotas), FullError, stats().bounds, 'expire' and 'evict' in the feed.
const refuse: WhenFull = 'refuse';
const boundOptions: OpenOptions = {
  idleExpiryS: 3600,
  maxAgeS: 86400n,
  refreshOnRead: true,
  maxSessions: 1000,
  maxBytes: 64n << 20n,
  userMaxSessions: 10,
  userMaxBytes: 1 << 20,
  whenFull: refuse,
};
const bounded = new SessionStore(boundOptions);
const bounds: BoundsStats = bounded.stats().bounds;
const limits: (number | null)[] = [bounds.max_sessions, bounds.max_bytes];
limits.push(bounds.user_max_sessions, bounds.user_max_bytes);
const times: (number | null)[] = [bounds.idle_expiry_s, bounds.max_age_s];
const held: number[] = [bounds.sessions, bounds.bytes, bounds.expired, bounds.evicted];
const refreshes: boolean = bounds.refresh_on_read;
const fullPolicy: WhenFull = bounds.when_full;
try {
  bounded.upsert({ session_id: 'q', user_id: 'u' });
} catch (e) {
  if (e instanceof FullError) {
    const code: ErrorCode = e.code; // 'FULL'
    console.log(code, e.status === Status.FULL);
  }
}
const removals: RemovalOp[] = [];
for (const c of bounded.changes(0, { idsOnly: true }).changes) {
  if (c.op === 'delete' || c.op === 'expire' || c.op === 'evict') {
    const removal: RemovalChange = c;
    const old: DeleteChange = removal; // the former name
    removals.push(old.op);
  }
}
bounded.close();
void [limits, times, held, refreshes, fullPolicy, removals];

// 0.4: the Redis backend (backend, url, namespace, the timeouts) and UnavailableError.
const backend: Backend = 'redis';
const redisOptions: OpenOptions = {
  mode: 'team',
  backend,
  url: 'redis://127.0.0.1:6379/0',
  namespace: 'app',
  connectTimeoutMs: 500,
  commandTimeoutMs: 5000n,
  maxSessionBytes: 1 << 20,
  feedBytes: 1 << 20,
};
const localOptions: OpenOptions = { backend: 'local' };
try {
  const shared = new SessionStore(redisOptions);
  shared.upsert({ session_id: 'r', team_id: 'crew' });
  shared.close();
} catch (e) {
  if (e instanceof UnavailableError) {
    const code: ErrorCode = e.code; // 'UNAVAILABLE'
    console.log(code, e.status === Status.UNAVAILABLE, e.message);
  }
}
const unavailableStatus: number = Status.UNAVAILABLE;
const unavailableCode: ErrorCode = 'UNAVAILABLE';
void [localOptions, unavailableStatus, unavailableCode];

try {
  store.renameSession('missing', 'x');
} catch (e) {
  if (e instanceof SessionStoreError) {
    const code: ErrorCode = e.code;
    const status: number = e.status;
    void code;
    void status;
  }
  if (e instanceof NotFoundError) console.log(e.message);
}
const closedStatus: number = Status.CLOSED;

function scoped(): void {
  using s = new SessionStore({ mode: 'workflow_v2' });
  s.upsert({ session_id: 'w', workflow_id: 'wf', runs: [] });
}
scoped();
store.close();
try {
  store.stats();
} catch (e) {
  if (e instanceof ClosedError && e.code === 'CLOSED') console.log('closed');
}

// Wrong uses must not type-check.
// @ts-expect-error: mode must be a SessionMode
new SessionStore({ mode: 'robot' });
// @ts-expect-error: unknown option
new SessionStore({ maxSessionByte: 3 });
// @ts-expect-error: session_id is required
store.upsert({ user_id: 'u' });
// @ts-expect-error: sortBy is a fixed set
store.query({ sortBy: 'name' });
// @ts-expect-error: read takes an id string
store.read(42);
// @ts-expect-error: listing filters are an object
store.getAllSessionIds('u1');
// @ts-expect-error: the user scope is an options object, not a positional string
store.deleteSession('a', 'u1');
// @ts-expect-error: userId is the only scope option
store.renameSession('a', 'n', { user_id: 'u1' });
// @ts-expect-error: sessionType is a type, a list of types or 'any'
store.query({ sessionType: 'robot' });
// @ts-expect-error: fields is 'all', 'metadata' or a list of names
store.query({ fields: 'everything' });
// @ts-expect-error: a metadata projection has no transcript
store.query({ fields: 'metadata' }).sessions[0]!.memory;
// @ts-expect-error: nonFiniteNumbers is 'reject' or 'null'
new SessionStore({ nonFiniteNumbers: 'zero' });
// @ts-expect-error: sync is 'always', 'interval' or 'os'
new SessionStore({ path: '/tmp/x', sync: 'sometimes' });
// @ts-expect-error: path is a string
new SessionStore({ path: 42 });
// @ts-expect-error: sync() takes no argument
store.sync(true);
// @ts-expect-error: durability may be null (a store in memory)
store.stats().durability.path;
// @ts-expect-error: the expected version is required
store.upsertIf({ session_id: 'x' });
// @ts-expect-error: an expected version is a number or a bigint, not a string
store.upsertIf({ session_id: 'x' }, '3');
// @ts-expect-error: runs are an array
store.appendRuns('x', { run_id: 'r' });
// @ts-expect-error: the user scope is an options object
store.appendRuns('x', [{}], 'u1');
// @ts-expect-error: deleteSessionIf takes the expected version before the options
store.deleteSessionIf('x', { userId: 'u1' });
// @ts-expect-error: changes needs `after`
store.changes();
// @ts-expect-error: idsOnly (camelCase) is the option
store.changes(0, { ids_only: true });
// @ts-expect-error: with idsOnly, upsert changes have no session
store.changes(0, { idsOnly: true }).changes.find((c) => c.op === 'upsert')!.session;
// @ts-expect-error: exportWithSeqRaw's seq is a bigint
const seqNumber: number = store.exportWithSeqRaw().seq;
// @ts-expect-error: feedBytes is a number or bigint
new SessionStore({ feedBytes: '1MiB' });
// @ts-expect-error: the store's identity is a string (32 hex digits), not a number
const storeNumber: number = store.changes(0).store;
// @ts-expect-error: the identity is stats().feed.store, not a member of stats() itself
store.stats().store;
// @ts-expect-error: whenFull is 'evict' or 'refuse'
new SessionStore({ whenFull: 'drop' });
// @ts-expect-error: refreshOnRead is a boolean
new SessionStore({ idleExpiryS: 60, refreshOnRead: 'yes' });
// @ts-expect-error: bounds are numbers or bigints
new SessionStore({ maxSessions: '100' });
// @ts-expect-error: the options are camelCase (idleExpiryS), not the library's keys
new SessionStore({ idle_expiry_s: 60 });
// @ts-expect-error: a removal change has no session
store.changes(0).changes.find((c) => c.op === 'evict')!.session;
// @ts-expect-error: backend is 'local' or 'redis'
new SessionStore({ backend: 'memcached' });
// @ts-expect-error: url is a string, not a URL object
new SessionStore({ backend: 'redis', url: new URL('redis://127.0.0.1:6379/0') });
// @ts-expect-error: namespace is a string
new SessionStore({ backend: 'redis', url: 'redis://127.0.0.1:6379/0', namespace: 7 });
// @ts-expect-error: the timeouts are numbers or bigints
new SessionStore({ backend: 'redis', url: 'redis://127.0.0.1:6379/0', commandTimeoutMs: '10s' });
// @ts-expect-error: the options are camelCase (connectTimeoutMs), not the library's keys
new SessionStore({ backend: 'redis', url: 'redis://127.0.0.1:6379/0', connect_timeout_ms: 500 });

void [v, mode, isClosed, created, maybe, raw, text, many, ids, all, recent, everything, total, qr, renamed];
void [removed, byTeam, imported, closedStatus, durableStatuses, seqNumber, storeNumber];
void [mine, mineRaw, removedMine, anyType, twoTypes, metaUser, metaName, pickedId, whole, unknownFields, deniedStatus];
// @ts-expect-error: Status is read-only
Status.CLOSED = Status.OK;
