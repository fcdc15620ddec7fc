'use strict';

// Every method of SessionStore, objects and raw variants, and every error code the library can return.

const test = require('node:test');
const assert = require('node:assert/strict');
const ss = require('..');
const { SessionStore, SessionStoreError } = ss;

/** Asserts that fn throws a SessionStoreError with this code (and the matching subclass and status). */
function throwsCode(fn, code, pattern) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, `expected a ${code} error, nothing was thrown`);
  assert.ok(caught instanceof SessionStoreError, `expected SessionStoreError, got ${caught && caught.stack}`);
  assert.ok(caught instanceof Error);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.status, ss.Status[code]);
  const sub = {
    NOT_FOUND: ss.NotFoundError,
    INVALID_ARGUMENT: ss.InvalidArgumentError,
    INVALID_JSON: ss.InvalidJsonError,
    INVALID_SESSION: ss.InvalidSessionError,
    CONFLICT: ss.ConflictError,
    TOO_LARGE: ss.TooLargeError,
    INTERNAL: ss.InternalError,
    PERMISSION_DENIED: ss.PermissionDeniedError,
    IO: ss.IoError,
    LOCKED: ss.LockedError,
    CORRUPT: ss.CorruptError,
    POISONED: ss.PoisonedError,
    VERSION_MISMATCH: ss.VersionMismatchError,
    FEED_TRUNCATED: ss.FeedTruncatedError,
    FULL: ss.FullError,
    UNAVAILABLE: ss.UnavailableError,
    CLOSED: ss.ClosedError,
  }[code];
  assert.ok(caught instanceof sub, `expected ${sub.name}, got ${caught.name}`);
  assert.equal(typeof caught.message, 'string');
  assert.ok(caught.message.length > 0);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

function withStore(options, fn) {
  const s = new SessionStore(options);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

const nowSec = () => Math.floor(Date.now() / 1000);

test('version() and the binding version', () => {
  assert.match(ss.version(), /^\d+\.\d+\.\d+/);
  assert.equal(ss.version(), '0.4.0');
  assert.equal(ss.BINDING_VERSION, require('../package.json').version);
});

test('open: defaults, every mode, static open, options', () => {
  withStore(undefined, (s) => {
    assert.equal(s.mode, 'agent');
    assert.equal(s.closed, false);
    assert.equal(s.stats().mode, 'agent');
    assert.match(s.libraryPath, /libsessionstore/);
  });
  for (const mode of ['agent', 'team', 'workflow', 'workflow_v2']) {
    const s = SessionStore.open({ mode });
    assert.ok(s instanceof SessionStore);
    assert.equal(s.mode, mode);
    assert.equal(s.stats().mode, mode);
    s.close();
  }
  withStore({ maxSessionBytes: 1024 }, (s) => {
    s.upsert({ session_id: 'ok', memory: 'x'.repeat(500) });
    throwsCode(() => s.upsert({ session_id: 'big', memory: 'x'.repeat(2000) }), 'TOO_LARGE');
  });
});

test('open: bad options are INVALID_ARGUMENT', () => {
  throwsCode(() => new SessionStore({ mode: 'robot' }), 'INVALID_ARGUMENT', /mode/);
  throwsCode(() => new SessionStore({ mode: 42 }), 'INVALID_ARGUMENT');
  throwsCode(() => new SessionStore({ maxSessionBytes: 0 }), 'INVALID_ARGUMENT');
  throwsCode(() => new SessionStore({ maxSessionBytes: -5 }), 'INVALID_ARGUMENT');
  throwsCode(() => new SessionStore({ maxSessionBytes: 'big' }), 'INVALID_ARGUMENT');
  throwsCode(() => new SessionStore({ maxSessionByte: 10 }), 'INVALID_ARGUMENT', /unknown SessionStore option/);
  throwsCode(() => new SessionStore({ nonFinite: 'null' }), 'INVALID_ARGUMENT', /nonFiniteNumbers/);
  throwsCode(() => new SessionStore(null), 'INVALID_ARGUMENT');
  throwsCode(() => new SessionStore('agent'), 'INVALID_ARGUMENT');
});

test('upsert: stores, stamps, keeps created_at, returns the stored session', () => {
  withStore({}, (s) => {
    const before = nowSec();
    const stored = s.upsert({ session_id: 's1', user_id: 'u1', agent_id: 'a1', memory: { runs: [] } });
    assert.equal(stored.session_id, 's1');
    assert.equal(stored.session_type, 'agent');
    assert.ok(stored.created_at >= before - 1 && stored.created_at <= nowSec() + 1);
    assert.ok(stored.updated_at >= stored.created_at);
    assert.deepEqual(stored.memory, { runs: [] });

    const again = s.upsert({ session_id: 's1', user_id: 'u1', memory: { runs: [1] } });
    assert.equal(again.created_at, stored.created_at, 'created_at kept when the input has none');
    assert.deepEqual(s.read('s1').memory, { runs: [1] });

    const explicit = s.upsert({ session_id: 's2', created_at: 1000 });
    assert.equal(explicit.created_at, 1000);
    assert.ok(explicit.updated_at >= before - 1);

    // The caller's object is not touched and later mutations do not reach the store.
    const mine = { session_id: 's3', memory: { a: 1 } };
    s.upsert(mine);
    assert.deepEqual(Object.keys(mine), ['session_id', 'memory']);
    const read = s.read('s3');
    read.memory.a = 2;
    assert.equal(s.read('s3').memory.a, 1);
  });
});

test('upsertRaw: JSON text and bytes in, stored JSON text out', () => {
  withStore({}, (s) => {
    const text = s.upsertRaw('{"session_id":"r1","user_id":"u"}');
    assert.equal(typeof text, 'string');
    const obj = JSON.parse(text);
    assert.equal(obj.session_id, 'r1');
    assert.equal(obj.session_type, 'agent');
    const fromBytes = JSON.parse(s.upsertRaw(Buffer.from('{"session_id":"r2"}')));
    assert.equal(fromBytes.session_id, 'r2');
    const fromU8 = JSON.parse(s.upsertRaw(new TextEncoder().encode('{"session_id":"r3"}')));
    assert.equal(fromU8.session_id, 'r3');
    assert.deepEqual(s.getAllSessionIds(), ['r1', 'r2', 'r3']);
  });
});

test('unknown fields are kept on a round trip (objects and raw)', () => {
  withStore({ mode: 'workflow_v2' }, (s) => {
    const session = {
      session_id: 'wf-1',
      workflow_id: 'wf',
      workflow_name: 'Blog post',
      runs: [{ run_id: 'r1', content: 'héllo 🌍', metrics: { tokens: 12, cost: 0.25 } }],
      session_data: { session_name: 'first', session_state: { step: 3, flags: [true, false, null] } },
      workflow_data: { nested: { deeper: { deepest: ['a', { b: 'c' }] } } },
      extra_data: null,
      custom_field: 'kept',
      '': 'empty key',
      'weird key "quoted"': '\u0000\u001f\\',
    };
    const stored = s.upsert(session);
    for (const [k, v] of Object.entries(session)) {
      assert.deepEqual(stored[k], v, `field ${JSON.stringify(k)} after upsert`);
    }
    const read = s.read('wf-1');
    for (const [k, v] of Object.entries(session)) {
      assert.deepEqual(read[k], v, `field ${JSON.stringify(k)} after read`);
    }
    // Raw text keeps numbers exactly as written (JSON.parse would round the big integer).
    s.upsertRaw('{"session_id":"wf-2","big":12345678901234567890,"exp":1.5e300,"neg":-0.0}');
    const raw = s.readRaw('wf-2');
    assert.match(raw, /"big":12345678901234567890/);
    assert.match(raw, /"exp":1\.5e300/);
    const exported = s.export();
    assert.deepEqual(exported['wf-1'].runs, session.runs);
  });
});

test('upsert errors: INVALID_JSON, INVALID_SESSION, CONFLICT, TOO_LARGE, INVALID_ARGUMENT', () => {
  withStore({}, (s) => {
    throwsCode(() => s.upsertRaw('{'), 'INVALID_JSON');
    throwsCode(() => s.upsertRaw(''), 'INVALID_JSON');
    throwsCode(() => s.upsertRaw(Buffer.alloc(0)), 'INVALID_JSON');
    throwsCode(() => s.upsertRaw('{"session_id":"d","a":1,"a":2}'), 'INVALID_JSON', /duplicate/);
    throwsCode(() => s.upsertRaw(Buffer.from([0x7b, 0xff, 0x7d])), 'INVALID_JSON', /UTF-8/);
    throwsCode(() => s.upsertRaw('['.repeat(300) + ']'.repeat(300)), 'INVALID_JSON');
    const cyclic = { session_id: 'c' };
    cyclic.self = cyclic;
    throwsCode(() => s.upsert(cyclic), 'INVALID_JSON', /serialised/);
    throwsCode(() => s.upsert({ session_id: 'b', n: 1n }), 'INVALID_JSON');

    throwsCode(() => s.upsert({ user_id: 'u' }), 'INVALID_SESSION');
    throwsCode(() => s.upsert({ session_id: '' }), 'INVALID_SESSION');
    throwsCode(() => s.upsert({ session_id: 7 }), 'INVALID_SESSION');
    throwsCode(() => s.upsert({ session_id: 'x', user_id: 5 }), 'INVALID_SESSION');
    throwsCode(() => s.upsert({ session_id: 'x', created_at: 'yesterday' }), 'INVALID_SESSION');
    throwsCode(() => s.upsert({ session_id: 'x', session_type: 'team' }), 'INVALID_SESSION');
    throwsCode(() => s.upsert([1, 2]), 'INVALID_SESSION');
    throwsCode(() => s.upsert('{"session_id":"as-string"}'), 'INVALID_SESSION');
    throwsCode(() => s.upsert(undefined), 'INVALID_ARGUMENT');
    throwsCode(() => s.upsertRaw(42), 'INVALID_ARGUMENT');
    throwsCode(() => s.upsertRaw({ session_id: 'obj' }), 'INVALID_ARGUMENT', /upsert|JSON string/);

    s.upsert({ session_id: 'shared-id' });
    const team = s.share('team');
    try {
      throwsCode(() => team.upsert({ session_id: 'shared-id' }), 'CONFLICT');
      assert.equal(s.read('shared-id').session_type, 'agent', 'nothing changed after CONFLICT');
    } finally {
      team.close();
    }
  });
  withStore({ maxSessionBytes: 64 }, (s) => {
    throwsCode(() => s.upsert({ session_id: 'big', memory: 'y'.repeat(100) }), 'TOO_LARGE');
    assert.equal(s.read('big'), null);
  });
});

test('upsertMany / upsertManyRaw: atomic, input order, index in errors', () => {
  withStore({ mode: 'team' }, (s) => {
    const stored = s.upsertMany([
      { session_id: 't3', team_id: 'T' },
      { session_id: 't1', team_id: 'T' },
      { session_id: 't2', team_id: 'U' },
    ]);
    assert.deepEqual(stored.map((x) => x.session_id), ['t3', 't1', 't2']);
    assert.ok(stored.every((x) => x.session_type === 'team'));
    const err = throwsCode(
      () => s.upsertMany([{ session_id: 'n1' }, { session_id: 'n2' }, { session_id: 'n3' }, { nope: true }]),
      'INVALID_SESSION',
      /sessions\[3\]/,
    );
    assert.ok(err);
    assert.equal(s.read('n1'), null, 'atomic: nothing of the failed batch is stored');
    assert.deepEqual(s.getAllSessionIds(), ['t3', 't1', 't2']);
    const raw = s.upsertManyRaw('[{"session_id":"t4"}]');
    assert.equal(JSON.parse(raw)[0].session_id, 't4');
    assert.deepEqual(s.upsertMany([]), []);
    throwsCode(() => s.upsertMany({ session_id: 'x' }), 'INVALID_ARGUMENT');
    throwsCode(() => s.upsertManyRaw('{"session_id":"x"}'), 'INVALID_ARGUMENT', /sequence|array/);
    throwsCode(() => s.upsertManyRaw('[{"session_id":"x"}'), 'INVALID_JSON');
  });
});

test('read / readRaw: found, missing, user filter, other type', () => {
  withStore({}, (s) => {
    s.upsert({ session_id: 's1', user_id: 'alice' });
    assert.equal(s.read('s1').user_id, 'alice');
    assert.equal(s.read('s1', 'alice').session_id, 's1');
    assert.equal(s.read('s1', null).session_id, 's1');
    assert.equal(s.read('s1', 'bob'), null);
    assert.equal(s.read('missing'), null);
    assert.equal(s.readRaw('missing'), null);
    assert.equal(JSON.parse(s.readRaw('s1')).session_id, 's1');
    const team = s.share('team');
    try {
      assert.equal(team.read('s1'), null, 'an agent session is not found from a team handle');
    } finally {
      team.close();
    }
    throwsCode(() => s.read(5), 'INVALID_ARGUMENT');
    throwsCode(() => s.read(undefined), 'INVALID_ARGUMENT');
    throwsCode(() => s.read('s1\u0000x'), 'INVALID_ARGUMENT', /NUL/);
    throwsCode(() => s.read('s1', 9), 'INVALID_ARGUMENT');
  });
});

function seedAgents(s) {
  // Insertion order is the listing order; created_at drives "recent".
  s.upsertMany([
    { session_id: 'a', user_id: 'u1', agent_id: 'x', created_at: 100 },
    { session_id: 'b', user_id: 'u1', agent_id: 'y', created_at: 300 },
    { session_id: 'c', user_id: 'u2', agent_id: 'x', created_at: 200 },
    { session_id: 'd', user_id: 'u1', agent_id: 'x', created_at: 300 },
    { session_id: 'e', user_id: 'u2', agent_id: 'y', created_at: 50 },
  ]);
}

test('getAllSessionIds / getAllSessions (+Raw): filters and insertion order', () => {
  withStore({}, (s) => {
    assert.deepEqual(s.getAllSessionIds(), []);
    assert.deepEqual(s.getAllSessions(), []);
    seedAgents(s);
    assert.deepEqual(s.getAllSessionIds(), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(s.getAllSessionIds({}), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(s.getAllSessionIds({ userId: 'u1' }), ['a', 'b', 'd']);
    assert.deepEqual(s.getAllSessionIds({ entityId: 'x' }), ['a', 'c', 'd']);
    assert.deepEqual(s.getAllSessionIds({ userId: 'u1', entityId: 'x' }), ['a', 'd']);
    assert.deepEqual(s.getAllSessionIds({ userId: '', entityId: null }), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(s.getAllSessionIds({ userId: 'nobody' }), []);
    assert.deepEqual(JSON.parse(s.getAllSessionIdsRaw({ userId: 'u2' })), ['c', 'e']);
    const all = s.getAllSessions({ userId: 'u2' });
    assert.deepEqual(all.map((x) => x.session_id), ['c', 'e']);
    assert.ok(all.every((x) => x.session_type === 'agent'));
    assert.deepEqual(JSON.parse(s.getAllSessionsRaw({ entityId: 'y' })).map((x) => x.session_id), ['b', 'e']);
    // Only this handle's type.
    const wf = s.share('workflow');
    try {
      wf.upsert({ session_id: 'w1', workflow_id: 'x', user_id: 'u1' });
      assert.deepEqual(wf.getAllSessionIds(), ['w1']);
      assert.deepEqual(wf.getAllSessionIds({ entityId: 'x' }), ['w1']);
      assert.deepEqual(s.getAllSessionIds({ userId: 'u1' }), ['a', 'b', 'd']);
    } finally {
      wf.close();
    }
    throwsCode(() => s.getAllSessionIds({ userId: 3 }), 'INVALID_ARGUMENT');
    throwsCode(() => s.getAllSessions('u1'), 'INVALID_ARGUMENT');
  });
});

test('getRecentSessions (+Raw): newest first, ties by insertion, limit default 2, negative/null = all', () => {
  withStore({}, (s) => {
    seedAgents(s);
    const ids = (list) => list.map((x) => x.session_id);
    assert.deepEqual(ids(s.getRecentSessions()), ['d', 'b'], 'default limit 2; tie at 300: last inserted first');
    assert.deepEqual(ids(s.getRecentSessions({ limit: 5 })), ['d', 'b', 'c', 'a', 'e']);
    assert.deepEqual(ids(s.getRecentSessions({ limit: -1 })), ['d', 'b', 'c', 'a', 'e']);
    assert.deepEqual(ids(s.getRecentSessions({ limit: null })), ['d', 'b', 'c', 'a', 'e']);
    assert.deepEqual(ids(s.getRecentSessions({ limit: 0 })), []);
    assert.deepEqual(ids(s.getRecentSessions({ limit: 100 })).length, 5);
    assert.deepEqual(ids(s.getRecentSessions({ userId: 'u2', limit: 5 })), ['c', 'e']);
    assert.deepEqual(ids(s.getRecentSessions({ entityId: 'x', limit: -1 })), ['d', 'c', 'a']);
    assert.deepEqual(ids(s.getRecentSessions({ userId: 'u1', entityId: 'x', limit: 1 })), ['d']);
    assert.deepEqual(ids(s.getRecentSessions({ limit: 2n })), ['d', 'b']);
    assert.deepEqual(ids(JSON.parse(s.getRecentSessionsRaw({ userId: 'u1', limit: 5 }))), ['d', 'b', 'a']);
    throwsCode(() => s.getRecentSessions({ limit: 1.5 }), 'INVALID_ARGUMENT');
    throwsCode(() => s.getRecentSessions({ limit: '3' }), 'INVALID_ARGUMENT');
  });
});

test('query / queryRaw: filters, name search, time ranges, sort, paging, total', () => {
  withStore({}, (s) => {
    s.upsertMany([
      { session_id: 'q1', user_id: 'u1', agent_id: 'A', created_at: 10, session_data: { session_name: 'Trip to Paris' } },
      { session_id: 'q2', user_id: 'u1', agent_id: 'B', created_at: 20, session_data: { session_name: 'paris notes' } },
      { session_id: 'q3', user_id: 'u2', agent_id: 'A', created_at: 30, session_data: { session_name: 'Berlin' } },
      { session_id: 'q4', user_id: 'u1', agent_id: 'A', created_at: 40 },
    ]);
    const ids = (r) => r.sessions.map((x) => x.session_id);

    const all = s.query();
    assert.equal(all.total, 4);
    assert.deepEqual(ids(all), ['q4', 'q3', 'q2', 'q1'], 'default: created_at desc');
    assert.deepEqual(ids(s.query({})), ['q4', 'q3', 'q2', 'q1']);
    assert.deepEqual(ids(s.query({ userId: 'u1' })), ['q4', 'q2', 'q1']);
    assert.deepEqual(ids(s.query({ entityId: 'A' })), ['q4', 'q3', 'q1']);
    assert.deepEqual(ids(s.query({ sessionName: 'PARIS' })), ['q2', 'q1']);
    assert.deepEqual(ids(s.query({ createdAfter: 20, createdBefore: 30 })), ['q3', 'q2'], 'inclusive');
    assert.deepEqual(ids(s.query({ sortBy: 'session_id', sortOrder: 'asc' })), ['q1', 'q2', 'q3', 'q4']);
    assert.deepEqual(ids(s.query({ sortBy: 'created_at', sortOrder: 'asc', limit: 2, offset: 1 })), ['q2', 'q3']);
    const paged = s.query({ userId: 'u1', limit: 1 });
    assert.equal(paged.total, 3, 'total before paging');
    assert.deepEqual(ids(paged), ['q4']);
    assert.deepEqual(ids(s.query({ limit: null, offset: 3 })), ['q1']);
    const now = nowSec();
    assert.equal(s.query({ updatedAfter: now - 60, updatedBefore: now + 60 }).total, 4);
    assert.equal(s.query({ updatedBefore: 5 }).total, 0);
    assert.equal(s.query({ updatedAfter: new Date(Date.now() - 60_000), createdBefore: new Date(25_000) }).total, 2);
    // snake_case keys are accepted too.
    assert.deepEqual(ids(s.query({ user_id: 'u2' })), ['q3']);

    const raw = JSON.parse(s.queryRaw('{"user_id":"u1","sort_by":"session_id","sort_order":"asc"}'));
    assert.deepEqual(ids(raw), ['q1', 'q2', 'q4']);
    assert.equal(raw.total, 3);
    assert.equal(JSON.parse(s.queryRaw(null)).total, 4);
    assert.equal(JSON.parse(s.queryRaw()).total, 4);
    assert.equal(JSON.parse(s.queryRaw(Buffer.from('{"limit":1}'))).sessions.length, 1);

    throwsCode(() => s.query({ bogus: 1 }), 'INVALID_ARGUMENT', /bogus/);
    throwsCode(() => s.query({ sortBy: 'name' }), 'INVALID_ARGUMENT');
    throwsCode(() => s.query({ sortOrder: 'sideways' }), 'INVALID_ARGUMENT');
    throwsCode(() => s.query({ limit: -1 }), 'INVALID_ARGUMENT');
    throwsCode(() => s.query({ userId: 'u1', user_id: 'u2' }), 'INVALID_ARGUMENT', /twice/);
    throwsCode(() => s.query([]), 'INVALID_ARGUMENT');
    throwsCode(() => s.queryRaw('{"limit":'), 'INVALID_JSON');
  });
});

test('renameSession (+Raw)', () => {
  withStore({}, (s) => {
    s.upsert({ session_id: 'r', created_at: 5, session_data: { other: 1 } });
    const renamed = s.renameSession('r', 'My chat');
    assert.equal(renamed.session_data.session_name, 'My chat');
    assert.equal(renamed.session_data.other, 1, 'other session_data keys kept');
    assert.equal(renamed.created_at, 5);
    assert.equal(s.read('r').session_data.session_name, 'My chat');
    assert.equal(JSON.parse(s.renameSessionRaw('r', 'Ünïcode ✓')).session_data.session_name, 'Ünïcode ✓');
    s.upsert({ session_id: 'n' });
    assert.equal(s.renameSession('n', 'named').session_data.session_name, 'named');
    throwsCode(() => s.renameSession('missing', 'x'), 'NOT_FOUND');
    throwsCode(() => s.renameSessionRaw('missing', 'x'), 'NOT_FOUND');
    const team = s.share('team');
    try {
      throwsCode(() => team.renameSession('r', 'x'), 'NOT_FOUND');
    } finally {
      team.close();
    }
    throwsCode(() => s.renameSession('r', null), 'INVALID_ARGUMENT');
    throwsCode(() => s.renameSession('r', 'a\u0000b'), 'INVALID_ARGUMENT');
  });
});

test('deleteSession, deleteSessions (+Raw), drop: counts, absent ids, type scope', () => {
  withStore({}, (s) => {
    seedAgents(s);
    const team = s.share('team');
    try {
      team.upsert({ session_id: 'T1' });
      assert.equal(s.deleteSession('a'), 1);
      assert.equal(s.deleteSession('a'), 0, 'absent: not an error');
      assert.equal(s.deleteSession('T1'), 0, 'another type is not deleted');
      assert.equal(team.read('T1').session_id, 'T1');
      assert.equal(s.deleteSessions(['b', 'zzz', 'c']), 2);
      assert.equal(s.deleteSessions([]), 0);
      assert.equal(s.deleteSessionsRaw('["d"]'), 1);
      assert.equal(s.deleteSessionsRaw(Buffer.from('["nope"]')), 0);
      assert.deepEqual(s.getAllSessionIds(), ['e']);
      s.upsert({ session_id: 'f' });
      assert.equal(s.drop(), 2);
      assert.equal(s.drop(), 0);
      assert.deepEqual(s.getAllSessionIds(), []);
      assert.deepEqual(team.getAllSessionIds(), ['T1'], 'drop only removes this handle type');
      throwsCode(() => s.deleteSessions('a'), 'INVALID_ARGUMENT');
      throwsCode(() => s.deleteSessionsRaw('["a"'), 'INVALID_JSON');
      throwsCode(() => s.deleteSession(1), 'INVALID_ARGUMENT');
    } finally {
      team.close();
    }
  });
});

test('stats (+Raw)', () => {
  withStore({ mode: 'workflow' }, (s) => {
    const empty = s.stats();
    assert.deepEqual(empty, {
      mode: 'workflow',
      sessions: 0,
      bytes: 0,
      by_type: { agent: 0, team: 0, workflow: 0, workflow_v2: 0 },
      // The change feed (see versions.test.js): the store's identity, no change yet, the oldest kept would be the
      // next, default budget.
      feed: { store: empty.feed.store, latest: 0, oldest: 1, kept: 0, bytes: 0, budget: 16 * 1024 * 1024 },
      // No bound (see bounds.test.js): what is held, every bound null, the default policy, nothing reclaimed.
      bounds: {
        sessions: 0,
        bytes: 0,
        max_sessions: null,
        max_bytes: null,
        user_max_sessions: null,
        user_max_bytes: null,
        idle_expiry_s: null,
        max_age_s: null,
        refresh_on_read: false,
        when_full: 'evict',
        expired: 0,
        evicted: 0,
      },
      durability: null, // a store in memory (see durable.test.js)
    });
    assert.match(empty.feed.store, /^[0-9a-f]{32}$/);
    s.upsert({ session_id: 'w1', workflow_id: 'W' });
    s.upsert({ session_id: 'w2', workflow_id: 'W' });
    const agent = s.share('agent');
    try {
      agent.upsert({ session_id: 'a1' });
      const st = s.stats();
      assert.equal(st.mode, 'workflow');
      // "sessions", "bytes" and "by_type" count the whole shared store (every type); "mode" is the handle's.
      assert.equal(st.sessions, 3);
      assert.ok(st.bytes > 0);
      assert.deepEqual(st.by_type, { agent: 1, team: 0, workflow: 2, workflow_v2: 0 });
      assert.equal(st.bounds.sessions, 3, 'bounds count every type too');
      assert.equal(st.bounds.bytes, st.bytes);
      assert.deepEqual(Object.keys(st), ['mode', 'sessions', 'bytes', 'by_type', 'feed', 'bounds', 'durability']);
      assert.equal(JSON.parse(s.statsRaw()).sessions, 3);
      const fromAgent = agent.stats();
      assert.equal(fromAgent.mode, 'agent');
      assert.equal(fromAgent.sessions, 3);
      assert.equal(fromAgent.bytes, st.bytes);
      assert.equal(fromAgent.feed.store, empty.feed.store, 'one store, one identity, whatever the handle');
    } finally {
      agent.close();
    }
  });
});

test('export / import (+Raw): every type, into a new store, atomic, errors', () => {
  const dump = withStore({}, (s) => {
    s.upsert({ session_id: 'a1', user_id: 'u', memory: { facts: ['likes tea'] }, created_at: 111 });
    const team = s.share('team');
    team.upsert({ session_id: 't1', team_id: 'T', team_data: { members: 2 } });
    team.close();
    const obj = s.export();
    assert.deepEqual(Object.keys(obj).sort(), ['a1', 't1']);
    assert.equal(obj.a1.session_type, 'agent');
    assert.equal(obj.t1.session_type, 'team');
    assert.deepEqual(JSON.parse(s.exportRaw()), obj);
    return obj;
  });

  withStore({}, (fresh) => {
    assert.equal(fresh.import(dump), 2);
    assert.deepEqual(fresh.read('a1'), dump.a1, 'timestamps kept as given');
    assert.equal(fresh.read('a1').created_at, 111);
    const team = fresh.share('team');
    try {
      assert.deepEqual(team.read('t1'), dump.t1);
    } finally {
      team.close();
    }
    assert.deepEqual(fresh.export(), dump);
  });

  withStore({ mode: 'team' }, (fresh) => {
    // Records without session_type take the handle's mode; missing timestamps are filled.
    assert.equal(fresh.importRaw('{"x1":{"session_id":"x1","team_id":"T"}}'), 1);
    const x1 = fresh.read('x1');
    assert.equal(x1.session_type, 'team');
    assert.ok(x1.created_at > 0 && x1.updated_at > 0);
    assert.equal(fresh.importRaw(Buffer.from('{}')), 0);
    // Atomic: a bad record stops the whole import.
    throwsCode(
      () => fresh.import({ ok: { session_id: 'ok' }, bad: { session_id: 'other' } }),
      'INVALID_SESSION',
      /bad/,
    );
    assert.equal(fresh.read('ok'), null);
    throwsCode(() => fresh.importRaw('{"k":'), 'INVALID_JSON');
    throwsCode(() => fresh.import([]), 'INVALID_ARGUMENT');
    throwsCode(() => fresh.import(null), 'INVALID_ARGUMENT');
  });
});

test('share: same data, other mode, independent lifetimes', () => {
  const agent = new SessionStore();
  agent.upsert({ session_id: 'a1', user_id: 'u' });
  const again = agent.share();
  assert.equal(again.mode, 'agent');
  assert.equal(again.read('a1').user_id, 'u');
  const team = agent.share('team');
  assert.equal(team.mode, 'team');
  team.upsert({ session_id: 't1' });
  agent.close();
  // Data lives until the last sharing handle is closed.
  assert.equal(again.read('a1').user_id, 'u');
  assert.equal(again.stats().by_type.team, 1);
  const wf2 = team.share('workflow_v2');
  assert.equal(wf2.stats().by_type.agent, 1);
  again.close();
  team.close();
  assert.equal(wf2.stats().by_type.agent, 1);
  wf2.close();
  const s = new SessionStore();
  try {
    throwsCode(() => s.share('nope'), 'INVALID_ARGUMENT');
    throwsCode(() => s.share(3), 'INVALID_ARGUMENT');
  } finally {
    s.close();
  }
});

test('status numbers and error classes', () => {
  assert.deepEqual(
    { ...ss.Status },
    {
      OK: 0,
      NOT_FOUND: 1,
      INVALID_ARGUMENT: 2,
      INVALID_JSON: 3,
      INVALID_SESSION: 4,
      CONFLICT: 5,
      TOO_LARGE: 6,
      INTERNAL: 7,
      PERMISSION_DENIED: 8,
      IO: 9,
      LOCKED: 10,
      CORRUPT: 11,
      POISONED: 12,
      VERSION_MISMATCH: 13,
      FEED_TRUNCATED: 14,
      FULL: 15,
      UNAVAILABLE: 16,
      CLOSED: 65536, // SS_BINDING_STATUS_CLOSED, shared by every binding
    },
  );
  const e = new ss.ConflictError('m', 'CONFLICT', 5);
  assert.ok(e instanceof SessionStoreError && e instanceof Error);
  assert.equal(e.name, 'ConflictError');
  assert.equal(new SessionStoreError('m', 'INTERNAL', 7).name, 'SessionStoreError');
  const denied = new ss.PermissionDeniedError('m', 'PERMISSION_DENIED', 8);
  assert.ok(denied instanceof SessionStoreError && !(denied instanceof ss.ConflictError));
  assert.equal(denied.name, 'PermissionDeniedError');
  // 0.3: a conditional write that lost the race, a feed reader that fell behind; 0.4: a write over a bound, a
  // Redis server that cannot be used.
  for (const [Cls, code, status] of [
    [ss.VersionMismatchError, 'VERSION_MISMATCH', 13],
    [ss.FeedTruncatedError, 'FEED_TRUNCATED', 14],
    [ss.FullError, 'FULL', 15],
    [ss.UnavailableError, 'UNAVAILABLE', 16],
  ]) {
    const err = new Cls('m', code, status);
    assert.ok(err instanceof SessionStoreError && err instanceof Error && !(err instanceof ss.ConflictError));
    assert.equal(err.name, Cls.name);
    assert.equal(ss._internal.STATUS_TABLE.find((e) => e.status === status).Error, Cls);
  }
});
