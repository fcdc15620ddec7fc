'use strict';

// 0.4: the bounds of a store (issue 15): the open options idleExpiryS, maxAgeS, refreshOnRead, maxSessions,
// maxBytes, userMaxSessions, userMaxBytes and whenFull; stats().bounds; expiry (tested through old timestamps,
// never by waiting: a session imported with an "updated_at" of 1970 has long been idle); eviction of the least
// recently written sessions, with 'evict' changes in the feed; refusal with a FullError (status FULL, 15).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const ss = require('..');
const { SessionStore, SessionStoreError, InvalidArgumentError, FullError, NotFoundError, Status } = ss;

function withStore(options, fn) {
  const s = new SessionStore(options);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

/** Asserts an argument error: of this kind (TypeError, RangeError or InvalidArgumentError), code INVALID_ARGUMENT. */
function throwsArg(fn, Kind, pattern) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Kind, `expected ${Kind.name}, got ${e && e.stack}`);
    assert.ok(e instanceof InvalidArgumentError, e.stack);
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.equal(e.status, Status.INVALID_ARGUMENT);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

/** Asserts a FullError: the class, the code, status 15, and a message naming the bound. */
function throwsFull(fn, pattern) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof FullError, `expected FullError, got ${e && e.stack}`);
    assert.ok(e instanceof SessionStoreError);
    assert.equal(e.name, 'FullError');
    assert.equal(e.code, 'FULL');
    assert.equal(e.status, Status.FULL);
    assert.equal(e.status, 15);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

/** The feed's changes as 'op:id' strings (ids only). */
const feedOps = (s) => s.changes(0, { idsOnly: true }).changes.map((c) => `${c.op}:${c.session_id ?? c.session_type}`);

const NO_BOUNDS = {
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
};

// --- 1. options ------------------------------------------------------------------------------------------------

test('bounds options round-trip through stats().bounds (numbers or bigints; 0 and absent are no bound)', () => {
  withStore({}, (s) => assert.deepEqual(s.stats().bounds, NO_BOUNDS));
  const options = {
    idleExpiryS: 3600,
    maxAgeS: 86400n,
    refreshOnRead: true,
    maxSessions: 1000,
    maxBytes: 64n << 20n,
    userMaxSessions: 10,
    userMaxBytes: 1 << 20,
    whenFull: 'refuse',
  };
  withStore(options, (s) => {
    assert.deepEqual(s.stats().bounds, {
      ...NO_BOUNDS,
      max_sessions: 1000,
      max_bytes: 64 << 20,
      user_max_sessions: 10,
      user_max_bytes: 1 << 20,
      idle_expiry_s: 3600,
      max_age_s: 86400,
      refresh_on_read: true,
      when_full: 'refuse',
    });
    // Between "feed" and "durability", in the raw text too; shared by every handle on the data.
    assert.match(
      s.statsRaw(),
      /"feed":\{[^}]*\},"bounds":\{"sessions":0,"bytes":0,"max_sessions":1000,.*\},"durability":null\}$/,
    );
    const team = s.share('team');
    try {
      assert.deepEqual(team.stats().bounds, s.stats().bounds);
    } finally {
      team.close();
    }
  });
  // 0 is no bound; null is the default (no bound, 'evict', no refresh); false is no refresh.
  const zeros = { idleExpiryS: 0, maxAgeS: 0n, maxSessions: 0, maxBytes: 0, userMaxSessions: 0n, userMaxBytes: 0 };
  withStore(zeros, (s) => assert.deepEqual(s.stats().bounds, NO_BOUNDS));
  const nulls = Object.fromEntries([...Object.keys(options)].map((k) => [k, null]));
  withStore(nulls, (s) => assert.deepEqual(s.stats().bounds, NO_BOUNDS));
  withStore({ whenFull: 'evict', refreshOnRead: false }, (s) => assert.deepEqual(s.stats().bounds, NO_BOUNDS));
  // The largest values reach the library whole (it caps the seconds at 2^63 - 1, exact in statsRaw).
  const max = 2n ** 64n - 1n;
  withStore({ idleExpiryS: max, maxAgeS: max, maxSessions: max, maxBytes: max }, (s) => {
    const raw = s.statsRaw();
    assert.match(raw, /"max_sessions":18446744073709551615,"max_bytes":18446744073709551615,/);
    assert.match(raw, /"idle_expiry_s":9223372036854775807,"max_age_s":9223372036854775807,/);
    s.upsert({ session_id: 'kept' });
    assert.equal(s.read('kept').session_id, 'kept', 'a huge idle time never expires (no overflow)');
  });
});

test('bad bounds options are argument errors: negative, fractional, too large, wrong kind, unknown policy', () => {
  const numeric = ['idleExpiryS', 'maxAgeS', 'maxSessions', 'maxBytes', 'userMaxSessions', 'userMaxBytes'];
  for (const name of numeric) {
    for (const bad of [-1, -1n, 1.5, NaN, Infinity, -Infinity, 2n ** 64n, 2 ** 64]) {
      throwsArg(() => new SessionStore({ [name]: bad }), RangeError, new RegExp(name));
    }
    for (const bad of ['60', true, {}, [], new Number(1)]) {
      throwsArg(() => new SessionStore({ [name]: bad }), TypeError, new RegExp(`${name} must be an integer`));
    }
  }
  // refreshOnRead without idleExpiryS (or with 0): the library refuses it, naming both keys.
  const needsIdle = /refresh_on_read needs idle_expiry_s/;
  throwsArg(() => new SessionStore({ refreshOnRead: true }), InvalidArgumentError, needsIdle);
  throwsArg(
    () => new SessionStore({ refreshOnRead: true, idleExpiryS: 0, maxAgeS: 60 }),
    InvalidArgumentError,
    needsIdle,
  );
  for (const bad of ['true', 1, {}, new Boolean(true)]) {
    const options = { idleExpiryS: 60, refreshOnRead: bad };
    throwsArg(() => new SessionStore(options), TypeError, /refreshOnRead must be a boolean/);
  }
  // whenFull: the library checks the name; the binding the kind.
  for (const bad of ['drop', 'Refuse', '']) {
    throwsArg(() => new SessionStore({ whenFull: bad }), InvalidArgumentError, /when_full/);
  }
  throwsArg(() => new SessionStore({ whenFull: 'ref\0use' }), InvalidArgumentError, /NUL/);
  for (const bad of [1, true, ['refuse'], { toString: () => 'refuse' }]) {
    throwsArg(() => new SessionStore({ whenFull: bad }), TypeError, /whenFull must be a string/);
  }
  // The library's snake_case keys are not options of the binding (a typo cannot go unnoticed).
  for (const key of ['idle_expiry_s', 'when_full', 'maxSession', 'idleExpirySeconds']) {
    throwsArg(() => new SessionStore({ [key]: 60 }), InvalidArgumentError, new RegExp(`unknown SessionStore option "${key}"`));
  }
});

test('hostile options: each bound is read once, before the store exists', () => {
  const reads = [];
  let calls = 0;
  const options = new Proxy(
    {
      idleExpiryS: 60,
      maxSessions: 2,
      get whenFull() {
        calls++;
        return calls === 1 ? 'refuse' : 'evict'; // a different answer each time
      },
      refreshOnRead: true,
    },
    {
      get(t, k, r) {
        reads.push(k);
        return Reflect.get(t, k, r);
      },
    },
  );
  withStore(options, (s) => {
    assert.equal(calls, 1);
    assert.equal(s.stats().bounds.when_full, 'refuse');
    const bounds = ['idleExpiryS', 'maxAgeS', 'refreshOnRead', 'maxSessions', 'maxBytes', 'userMaxSessions'];
    for (const key of [...bounds, 'userMaxBytes', 'whenFull']) {
      assert.equal(reads.filter((k) => k === key).length, 1, key);
    }
    assert.deepEqual(reads.filter((k) => typeof k === 'symbol'), []);
  });
  // A bigint-like object is not a number: refused without calling its valueOf.
  let valueOf = 0;
  throwsArg(() => new SessionStore({ maxSessions: { valueOf: () => (valueOf++, 3) } }), TypeError, /maxSessions/);
  assert.equal(valueOf, 0);
});

// --- 2. expiry, without waiting ------------------------------------------------------------------------------

test('idleExpiryS: a session last written in 1970 is gone for reads, listings, queries and exports', () => {
  withStore({ idleExpiryS: 3600 }, (s) => {
    assert.equal(
      s.import({
        old: { session_id: 'old', user_id: 'u', agent_id: 'A', updated_at: 1000, created_at: 1000 },
        fresh: { session_id: 'fresh', user_id: 'u', agent_id: 'A' },
      }),
      2,
    );
    assert.equal(s.read('old'), null);
    assert.equal(s.readRaw('old'), null);
    assert.equal(s.read('old', 'u'), null);
    assert.deepEqual(s.getAllSessionIds(), ['fresh']);
    assert.deepEqual(s.getAllSessionIds({ userId: 'u', entityId: 'A' }), ['fresh']);
    assert.deepEqual(s.getAllSessions().map((x) => x.session_id), ['fresh']);
    assert.deepEqual(s.getRecentSessions({ limit: null }).map((x) => x.session_id), ['fresh']);
    const q = s.query({ sessionType: 'any', fields: 'metadata', createdBefore: 2000 });
    assert.deepEqual(q, { sessions: [], total: 0 }, 'not even by its own timestamps');
    assert.equal(s.query().total, 1);
    assert.deepEqual(Object.keys(s.export()), ['fresh']);
    assert.deepEqual(Object.keys(s.exportWithSeq().data), ['fresh']);
    assert.doesNotMatch(s.exportRaw(), /"old"/);
    // Held until the store's reclaimer frees it (within about a second): counted in stats until then, and
    // counted as expired after.
    const { bounds } = s.stats();
    assert.equal(bounds.sessions + bounds.expired, 2, JSON.stringify(bounds));
    assert.equal(s.stats().sessions, s.stats().bounds.sessions);
    // Gone for writes too: renaming or appending is NOT_FOUND, deleting removes nothing, and a write whose
    // expected version is 0 ("no such session") stores a new session in its place.
    assert.throws(() => s.renameSession('old', 'n'), NotFoundError);
    assert.throws(() => s.appendRuns('old', [{ run: 1 }]), NotFoundError);
    assert.equal(s.deleteSession('old'), 0);
    const reborn = s.upsertIf({ session_id: 'old', user_id: 'v' }, 0);
    assert.ok(reborn.created_at > 1000, 'a new session, not the expired one');
    assert.equal(s.read('old').user_id, 'v');
    // The feed says the old one expired (a write naming it, or the reclaimer, removed it) before the new one came.
    const ops = feedOps(s);
    assert.deepEqual(ops.slice(0, 2), ['upsert:old', 'upsert:fresh']);
    assert.equal(ops.filter((o) => o === 'expire:old').length, 1, ops.join(' '));
    assert.equal(ops.at(-1), 'upsert:old');
    assert.ok(ops.indexOf('expire:old') < ops.length - 1);
    assert.equal(s.stats().bounds.expired, 1);
  });
});

test('maxAgeS: a session created in 1970 has expired, however recently written', () => {
  withStore({ maxAgeS: 3600 }, (s) => {
    const stored = s.upsert({ session_id: 'ancient', created_at: 1000 });
    assert.equal(stored.created_at, 1000, 'the write itself succeeds');
    assert.ok(stored.updated_at > 1000);
    assert.equal(s.read('ancient'), null);
    s.upsert({ session_id: 'young' });
    assert.deepEqual(s.getAllSessionIds(), ['young']);
    assert.deepEqual(Object.keys(s.export()), ['young']);
    assert.equal(s.query({ sessionType: 'any' }).total, 1);
  });
  // A limit that is not reached expires nothing.
  withStore({ idleExpiryS: 3600, maxAgeS: 3600 }, (s) => {
    s.upsert({ session_id: 'now' });
    assert.equal(s.read('now').session_id, 'now');
    s.import({ recent: { session_id: 'recent', updated_at: Math.floor(Date.now() / 1000) - 60 } });
    assert.equal(s.read('recent').session_id, 'recent');
  });
});

test('refreshOnRead: reads return the session unchanged (the refresh is the store\'s, not a write)', () => {
  withStore({ idleExpiryS: 3600, refreshOnRead: true }, (s) => {
    const stored = s.upsert({ session_id: 'r' });
    const latest = s.stats().feed.latest;
    assert.deepEqual(s.read('r'), stored);
    assert.deepEqual(s.read('r'), stored);
    assert.equal(s.stats().feed.latest, latest, 'a read is no change');
    // An expired session is not brought back by a read.
    s.import({ old: { session_id: 'old', updated_at: 1000 } });
    assert.equal(s.read('old'), null);
    assert.equal(s.read('old'), null);
  });
});

// --- 3. eviction ---------------------------------------------------------------------------------------------

test('maxSessions: a write evicts the least recently written session; the feed says "evict"', () => {
  withStore({ maxSessions: 3 }, (s) => {
    for (const id of ['a', 'b', 'c']) s.upsert({ session_id: id });
    s.upsert({ session_id: 'a', turn: 2 }); // a is now the most recently written
    s.upsert({ session_id: 'd' });
    assert.deepEqual(s.getAllSessionIds(), ['a', 'c', 'd']);
    assert.equal(s.read('b'), null);
    const page = s.changes(0, { idsOnly: true });
    const evictions = page.changes.filter((c) => c.op === 'evict');
    assert.equal(evictions.length, 1);
    assert.deepEqual(Object.keys(evictions[0]).sort(), ['op', 'seq', 'session_id', 'session_type']);
    assert.equal(evictions[0].session_id, 'b');
    assert.equal(evictions[0].session_type, 'agent');
    // Numbered with the write that made room (just after it), as a change of its own.
    assert.deepEqual(feedOps(s).slice(-2), ['upsert:d', 'evict:b']);
    // The same shape with sessions: a removal has none.
    const full = s.changes(0).changes.find((c) => c.op === 'evict');
    assert.equal(full.session, undefined);
    const { bounds } = s.stats();
    assert.equal(bounds.evicted, 1);
    assert.equal(bounds.sessions, 3);
    assert.equal(bounds.max_sessions, 3);
    assert.equal(bounds.expired, 0);
  });
});

test('userMaxSessions evicts that user\'s own sessions; a write that cannot fit at all is a FullError', () => {
  withStore({ userMaxSessions: 2 }, (s) => {
    for (const [id, user] of [['a', 'u'], ['x', 'w'], ['b', 'u'], ['c', 'u']]) {
      s.upsert({ session_id: id, user_id: user });
    }
    assert.deepEqual(s.getAllSessionIds(), ['x', 'b', 'c'], 'u\'s oldest went, not w\'s');
    assert.equal(s.stats().bounds.evicted, 1);
    s.upsert({ session_id: 'anon' }); // sessions without a user_id are not counted
    assert.equal(s.getAllSessionIds().length, 4);
  });
  withStore({ maxBytes: 200 }, (s) => {
    s.upsert({ session_id: 'small' });
    throwsFull(() => s.upsert({ session_id: 'big', pad: 'x'.repeat(300) }), /max_bytes 200/);
    assert.deepEqual(s.getAllSessionIds(), ['small'], 'nothing evicted for a write that could never fit');
    assert.equal(s.stats().bounds.evicted, 0);
  });
});

test('a follower that applies "expire" and "evict" as removals mirrors a bounded store exactly', () => {
  withStore({ maxSessions: 4, idleExpiryS: 3600 }, (s) => {
    for (const id of ['a', 'b', 'c']) s.upsert({ session_id: id, user_id: 'u' });
    const { data, seq } = s.exportWithSeq();
    // After the export: evictions, an expired import that a write then names, deletes and a drop of another type.
    s.import({ old: { session_id: 'old', updated_at: 1000 } }); // held (4 of 4) but already expired
    s.upsert({ session_id: 'd' }); // makes room: 'old' (expired, so reclaimed first) or the oldest goes
    s.upsert({ session_id: 'e' });
    s.upsert({ session_id: 'a', turn: 2 });
    s.upsert({ session_id: 'f' });
    s.upsert({ session_id: 'old', turn: 2 }); // an expired 'old' still held is removed first ('expire'), then stored
    s.deleteSession('old');
    s.deleteSession('d');
    const team = s.share('team');
    try {
      team.upsert({ session_id: 't' });
      team.drop();
    } finally {
      team.close();
    }
    const mirror = { ...data };
    const seen = new Set();
    let after = seq;
    for (;;) {
      const page = s.changes(after, { limit: 2 });
      if (page.changes.length === 0) break;
      for (const c of page.changes) {
        seen.add(c.op);
        if (c.op === 'upsert') mirror[c.session_id] = c.session;
        else if (c.op === 'drop') {
          for (const [id, x] of Object.entries(mirror)) if (x.session_type === c.session_type) delete mirror[id];
        } else delete mirror[c.session_id]; // 'delete', 'expire', 'evict'
      }
      after = page.next;
    }
    assert.deepEqual(Object.keys(mirror).sort(), Object.keys(s.export()).sort());
    assert.deepEqual(mirror, s.export());
    assert.ok(seen.has('evict') && seen.has('expire') && seen.has('drop') && seen.has('delete'), [...seen].join());
    assert.ok(s.stats().bounds.evicted >= 1);
  });
});

test('a durable store journals evictions and expiries: reopened, it does not bring them back', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-node-bounds-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const options = { path: path.join(dir, 'store'), maxSessions: 2, idleExpiryS: 3600, sync: 'os' };
  withStore(options, (s) => {
    for (const id of ['a', 'b', 'c']) s.upsert({ session_id: id }); // the write of c evicts a
    s.import({ old: { session_id: 'old', updated_at: 1000 } }); // evicts b; held, but already expired
    assert.equal(s.deleteSession('old'), 0, 'an expired session is not there to delete');
    s.upsert({ session_id: 'old', turn: 2 }); // a write naming it removes the expired one first, then stores anew
    assert.deepEqual(s.getAllSessionIds(), ['c', 'old']);
    assert.deepEqual(feedOps(s).filter((o) => !o.startsWith('upsert')), ['evict:a', 'evict:b', 'expire:old']);
  });
  withStore(options, (s) => {
    assert.deepEqual(s.getAllSessionIds(), ['c', 'old']);
    assert.equal(s.read('a'), null);
    assert.equal(s.read('b'), null);
    assert.equal(s.read('old').turn, 2);
    assert.equal(s.stats().bounds.max_sessions, 2);
  });
});

// --- 4. refusal ----------------------------------------------------------------------------------------------

test('whenFull "refuse": a second session of a user over userMaxSessions is a FullError; nothing is stored', () => {
  withStore({ whenFull: 'refuse', userMaxSessions: 1 }, (s) => {
    s.upsert({ session_id: 's1', user_id: 'u1' });
    const latest = s.stats().feed.latest;
    throwsFull(() => s.upsert({ session_id: 's2', user_id: 'u1' }), /user_max_sessions 1/);
    throwsFull(() => s.upsertRaw('{"session_id":"s2","user_id":"u1"}'));
    throwsFull(() => s.upsertIf({ session_id: 's2', user_id: 'u1' }, 0));
    throwsFull(() => s.upsertMany([{ session_id: 's2', user_id: 'u1' }]));
    assert.equal(s.read('s2'), null);
    assert.deepEqual(s.getAllSessionIds(), ['s1']);
    assert.equal(s.stats().feed.latest, latest, 'no change');
    assert.equal(s.stats().bounds.evicted, 0);
    // Rewriting the user's one session fits (the session a write replaces does not count twice)...
    assert.equal(s.upsert({ session_id: 's1', user_id: 'u1', turn: 2 }).turn, 2);
    // ...and another user's session still fits.
    assert.equal(s.upsert({ session_id: 's3', user_id: 'u2' }).session_id, 's3');
    assert.deepEqual(s.getAllSessionIds(), ['s1', 's3']);
    // Caught by status, as code that does not import the class would.
    try {
      s.upsert({ session_id: 's4', user_id: 'u2' });
      assert.fail('expected FULL');
    } catch (e) {
      assert.equal(e.status, 15);
      assert.equal(e.code, 'FULL');
    }
  });
  // Store-wide bounds, and the batch writes: all or nothing.
  withStore({ whenFull: 'refuse', maxSessions: 2 }, (s) => {
    s.upsert({ session_id: 'a' });
    throwsFull(() => s.upsertMany([{ session_id: 'b' }, { session_id: 'c' }]), /max_sessions 2/);
    throwsFull(() => s.import({ b: { session_id: 'b' }, c: { session_id: 'c' } }), /max_sessions 2/);
    assert.deepEqual(s.getAllSessionIds(), ['a']);
    s.upsert({ session_id: 'b' });
    const team = s.share('team');
    try {
      throwsFull(() => team.upsert({ session_id: 't' }), /max_sessions 2/); // every type counts
    } finally {
      team.close();
    }
    assert.equal(s.renameSession('a', 'named').session_data.session_name, 'named', 'a rewrite fits');
    assert.equal(s.stats().bounds.evicted, 0);
  });
});

// --- 5. the status ------------------------------------------------------------------------------------------

test('the status table has FULL (15, "full") with FullError, in both entries', async () => {
  assert.equal(Status.FULL, 15);
  const entry = ss._internal.STATUS_TABLE.find((e) => e.code === 'FULL');
  assert.deepEqual({ ...entry }, { status: 15, code: 'FULL', text: 'full', Error: FullError });
  const esm = await import('../index.mjs');
  assert.equal(esm.FullError, FullError);
  assert.equal(esm.default.FullError, FullError);
  assert.equal(esm.Status.FULL, 15);
});
