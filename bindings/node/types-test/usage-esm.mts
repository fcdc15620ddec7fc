// Type-checked with `tsc -p tsconfig.json`: the ESM entry (index.d.mts), named and default imports.
import sessionstore, {
  SessionStore,
  PermissionDeniedError,
  LockedError,
  VersionMismatchError,
  FeedTruncatedError,
  FullError,
  UnavailableError,
  version,
  type StoredSession,
  type ChangesResult,
} from 'sessionstore';

const s = new SessionStore({ mode: 'team' });
const stored: StoredSession = s.upsert({ session_id: 't', team_id: 'T' });
const v1: string = version();
const v2: string = sessionstore.version();
const same: typeof SessionStore = sessionstore.SessionStore;
const denied: typeof PermissionDeniedError = sessionstore.PermissionDeniedError;
const locked: typeof LockedError = sessionstore.LockedError;
const syncResult: void = s.sync();
const mismatch: typeof VersionMismatchError = sessionstore.VersionMismatchError;
const truncated: typeof FeedTruncatedError = sessionstore.FeedTruncatedError;
const full: typeof FullError = sessionstore.FullError;
const unavailable: typeof UnavailableError = sessionstore.UnavailableError;
const redis = new SessionStore({ backend: 'redis', url: 'redis://127.0.0.1:6379/0', namespace: 'esm' });
redis.close();
const evicted: number = s.stats().bounds.evicted;
const appended: StoredSession = s.appendRuns('t', [{ run_id: 'r' }]);
const feed: ChangesResult = s.changes(0);
const storeId: string = feed.store === s.stats().feed.store ? feed.store : '';
const exported: number = s.exportWithSeq().seq;
const removed: number = s.deleteSession('t', { userId: 'u' });
s.close();
void [stored, v1, v2, same, denied, locked, syncResult, removed, mismatch, truncated, appended, feed, exported, storeId];
void [full, evicted, unavailable];
