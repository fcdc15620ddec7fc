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

void [v, mode, isClosed, created, maybe, raw, text, many, ids, all, recent, everything, total, qr, renamed];
void [removed, byTeam, imported, closedStatus, durableStatuses];
void [mine, mineRaw, removedMine, anyType, twoTypes, metaUser, metaName, pickedId, whole, unknownFields, deniedStatus];
// @ts-expect-error: Status is read-only
Status.CLOSED = Status.OK;
