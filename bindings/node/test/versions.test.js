'use strict';

// 0.3: the store-set "version" member, the conditional writes (upsertIf, renameSessionIf, deleteSessionIf),
// appendRuns, the change feed (changes, feedBytes, FEED_TRUNCATED), exportWithSeq and mirroring a store from
// it, the feed in stats(), and what happens to change numbers above 2^53. The concurrent appends and CAS loops
// are in concurrency.test.js; argument checks in hostile.test.js.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const ss = require('..');
const { SessionStore, SessionStoreError, VersionMismatchError, FeedTruncatedError, TooLargeError } = ss;

function withStore(options, fn) {
  const s = new SessionStore(options);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

/** Asserts that fn throws the SessionStoreError of this code, with its subclass and status; returns it. */
function throwsCode(fn, code, Cls, pattern) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SessionStoreError, `expected ${code}, got ${caught ? caught.stack : 'no error'}`);
  assert.ok(caught instanceof Cls, `expected ${Cls.name}, got ${caught.name}`);
  assert.equal(caught.name, Cls.name);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.status, ss.Status[code]);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

const mismatch = (fn, pattern) => throwsCode(fn, 'VERSION_MISMATCH', VersionMismatchError, pattern);
const truncated = (fn, pattern) => throwsCode(fn, 'FEED_TRUNCATED', FeedTruncatedError, pattern);

test('the new statuses: VERSION_MISMATCH 13 and FEED_TRUNCATED 14, their classes, in both entries', async () => {
  assert.equal(ss.Status.VERSION_MISMATCH, 13);
  assert.equal(ss.Status.FEED_TRUNCATED, 14);
  const esm = await import('../index.mjs');
  for (const [Cls, code] of [
    [VersionMismatchError, 'VERSION_MISMATCH'],
    [FeedTruncatedError, 'FEED_TRUNCATED'],
  ]) {
    assert.equal(esm[Cls.name], Cls);
    assert.equal(esm.default[Cls.name], Cls);
    const entry = ss._internal.STATUS_TABLE.find((e) => e.code === code);
    assert.equal(entry.Error, Cls);
    assert.ok(Object.getPrototypeOf(Cls) === SessionStoreError);
  }
  // The library's own errors come out as these classes.
  withStore({}, (s) => {
    s.upsert({ session_id: 'a' });
    mismatch(() => s.upsertIf({ session_id: 'a' }, 0), /"a" is at version 1, not 0/);
    truncated(() => s.changes(2), /never made here/);
  });
});

test('version: set by the store on every write, growing with each write of the session', () => {
  withStore({}, (s) => {
    const a1 = s.upsert({ session_id: 'a', memory: { runs: [] } });
    assert.equal(a1.version, 1);
    assert.equal(s.read('a').version, 1);
    const b = s.upsert({ session_id: 'b' });
    assert.equal(b.version, 2, 'one number a change, over the whole store');
    assert.equal(s.read('a').version, 1, 'a write of another session leaves it');
    const a2 = s.upsert({ ...s.read('a'), extra: 1 }); // read back and sent again: the version is replaced
    const a3 = s.renameSession('a', 'named');
    const a4 = s.appendRuns('a', [{ run_id: 'r' }]);
    const [a5] = s.upsertMany([{ session_id: 'a' }]);
    const versions = [a1, a2, a3, a4, a5].map((x) => x.version);
    assert.deepEqual(versions, [1, 3, 4, 5, 6]);
    assert.equal(s.import({ a: { session_id: 'a', version: 1 } }), 1);
    assert.equal(s.read('a').version, 7, 'an import is a write too: its "version" is replaced');
    // What the input says is replaced, where it stands; it must be null or a non-negative integer.
    assert.match(s.upsertRaw('{"version":99,"session_id":"p"}'), /^\{"version":8,"session_id":"p",/);
    assert.equal(s.upsert({ session_id: 'p', version: null }).version, 9);
    for (const bad of ['"1"', '-1', '1.5', 'true', '{}']) {
      assert.throws(() => s.upsertRaw(`{"session_id":"p","version":${bad}}`), { code: 'INVALID_SESSION' }, bad);
    }
    assert.equal(s.read('p').version, 9, 'nothing changed');
    // Exported sessions carry it, and a typed round trip keeps everything.
    const dump = s.export();
    assert.equal(dump.b.version, 2);
    withStore({}, (fresh) => {
      fresh.import(dump);
      const again = fresh.export();
      for (const id of Object.keys(dump)) {
        const { version: _v1, ...rest1 } = dump[id];
        const { version: v2, ...rest2 } = again[id];
        assert.deepEqual(rest2, rest1, id);
        assert.equal(typeof v2, 'number');
      }
    });
  });
});

test('upsertIf: 0 creates only; a stale version is a VersionMismatchError and changes nothing', () => {
  withStore({}, (s) => {
    const created = s.upsertIf({ session_id: 'c', user_id: 'u', memory: { runs: [1] } }, 0);
    assert.equal(created.version, 1);
    const before = s.readRaw('c');
    const latest = s.stats().feed.latest;
    const e = mismatch(() => s.upsertIf({ session_id: 'c', user_id: 'u' }, 0), /"c" is at version 1, not 0/);
    assert.ok(e instanceof SessionStoreError && e instanceof Error);

    // Another writer came first: the version read earlier is stale.
    const read = s.read('c');
    s.upsert({ ...read, memory: { runs: [1, 'other writer'] } });
    mismatch(() => s.upsertIf({ ...read, memory: { runs: [1, 'mine'] } }, read.version), /at version 2, not 1/);
    mismatch(() => s.upsertIfRaw('{"session_id":"c","user_id":"u"}', 1n));
    mismatch(() => s.upsertIf({ session_id: 'c', user_id: 'u' }, 3), /at version 2, not 3/); // a future one too
    assert.deepEqual(s.read('c').memory.runs, [1, 'other writer'], 'nothing of the failed writes stored');
    assert.equal(s.stats().feed.latest, latest + 1, 'only the other writer made a change');
    assert.notEqual(s.readRaw('c'), before);

    // With the current version it goes through, and the result carries the new one.
    const fresh = s.read('c');
    const stored = s.upsertIf({ ...fresh, memory: { runs: [...fresh.memory.runs, 'mine'] } }, fresh.version);
    assert.equal(stored.version, 3);
    assert.deepEqual(s.read('c').memory.runs, [1, 'other writer', 'mine']);
    assert.equal(JSON.parse(s.upsertIfRaw(Buffer.from('{"session_id":"c","user_id":"u"}'), 3n)).version, 4);
    assert.equal(s.upsertIf({ session_id: 'new' }, 0n).version, 5);

    // The type and owner are checked first, as for upsert.
    throwsCode(() => s.upsertIf({ session_id: 'c', user_id: 'v' }, 4), 'PERMISSION_DENIED', ss.PermissionDeniedError);
    const team = s.share('team');
    try {
      throwsCode(() => team.upsertIf({ session_id: 'c' }, 0), 'CONFLICT', ss.ConflictError);
    } finally {
      team.close();
    }
    throwsCode(() => s.upsertIfRaw('{"session_id":', 0), 'INVALID_JSON', ss.InvalidJsonError);
    throwsCode(() => s.upsertIf({ session_id: 'c', user_id: 'u', version: 'x' }, 4), 'INVALID_SESSION', ss.InvalidSessionError);
  });
});

test('renameSessionIf / deleteSessionIf: only at the expected version', () => {
  withStore({}, (s) => {
    s.upsert({ session_id: 'r', user_id: 'u', session_data: { session_name: 'old' } });
    const v = s.read('r').version;
    s.upsert({ session_id: 'r', user_id: 'u', session_data: { session_name: 'changed' } }); // v + 1
    mismatch(() => s.renameSessionIf('r', 'mine', v), new RegExp(`at version ${v + 1}, not ${v}`));
    mismatch(() => s.renameSessionIfRaw('r', 'mine', BigInt(v)));
    assert.equal(s.read('r').session_data.session_name, 'changed');
    const renamed = s.renameSessionIf('r', 'mine', v + 1);
    assert.equal(renamed.session_data.session_name, 'mine');
    assert.equal(renamed.version, v + 2);
    assert.equal(JSON.parse(s.renameSessionIfRaw('r', 'raw', v + 2, { userId: 'u' })).version, v + 3);
    // A session the call cannot see has version 0: 0 is NOT_FOUND, any other version a mismatch.
    throwsCode(() => s.renameSessionIf('r', 'x', 0), 'VERSION_MISMATCH', VersionMismatchError);
    throwsCode(() => s.renameSessionIf('absent', 'x', 0), 'NOT_FOUND', ss.NotFoundError);
    mismatch(
      () => s.renameSessionIf('absent', 'x', 1),
      /no session "absent" for this call \(absent, or of another type or user\), expected at version 1/,
    );
    mismatch(() => s.renameSessionIf('r', 'x', v + 3, { userId: 'other' }));
    throwsCode(() => s.renameSessionIf('r', 'x', 0, { userId: 'other' }), 'NOT_FOUND', ss.NotFoundError);
    assert.equal(s.read('r').session_data.session_name, 'raw');

    const cur = s.read('r').version;
    mismatch(() => s.deleteSessionIf('r', cur - 1), new RegExp(`at version ${cur}, not ${cur - 1}`));
    mismatch(() => s.deleteSessionIf('r', 0)); // it exists: 0 means "must not exist"
    mismatch(() => s.deleteSessionIf('r', cur, { userId: 'other' })); // another user's: not visible, version 0
    assert.equal(s.deleteSessionIf('r', 0, { userId: 'other' }), 0);
    assert.notEqual(s.read('r'), null, 'still there');
    assert.equal(s.deleteSessionIf('absent', 0), 0, 'absent, as expected: nothing removed, no error');
    mismatch(() => s.deleteSessionIf('absent', 5n));
    assert.equal(s.deleteSessionIf('r', BigInt(cur), { userId: 'u' }), 1);
    assert.equal(s.read('r'), null);
    const team = s.share('team');
    try {
      s.upsert({ session_id: 'agent-only' });
      assert.equal(team.deleteSessionIf('agent-only', 0), 0, 'another type is not visible');
      assert.notEqual(s.read('agent-only'), null);
    } finally {
      team.close();
    }
  });
});

test('appendRuns (+Raw): memory.runs (runs for workflow_v2), atomic, everything else kept', () => {
  withStore({}, (s) => {
    s.upsert({ session_id: 'a', user_id: 'u', memory: { runs: [{ n: 0 }], facts: ['f'] }, other: { x: 1 } });
    const stored = s.appendRuns('a', [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(stored.memory, { runs: [{ n: 0 }, { n: 1 }, { n: 2 }], facts: ['f'] });
    assert.deepEqual(stored.other, { x: 1 });
    assert.equal(stored.version, 2);
    assert.deepEqual(s.read('a'), stored);
    // Any JSON values; a Buffer for the raw variant; the user scope.
    const raw = s.appendRunsRaw('a', Buffer.from('[3, "four", null]'), { userId: 'u' });
    assert.equal(typeof raw, 'string');
    assert.deepEqual(JSON.parse(raw).memory.runs.slice(3), [3, 'four', null]);
    throwsCode(() => s.appendRuns('a', [5], { userId: 'v' }), 'NOT_FOUND', ss.NotFoundError);
    throwsCode(() => s.appendRuns('absent', [5]), 'NOT_FOUND', ss.NotFoundError);
    assert.throws(() => s.appendRuns('a', [5], { user_id: 'u' }), { code: 'INVALID_ARGUMENT', message: /user_id/ });
    // Missing or null memory/runs are created; the raw text of the rest is kept byte for byte.
    s.upsertRaw('{"session_id":"m",  "memory": null, "k" : [1,2]}');
    assert.match(s.appendRunsRaw('m', '[ {"a":1} ]'), /^\{"session_id":"m", {2}"memory": \{"runs":\[\{"a":1\}\]\}, "k" : \[1,2\],/);
    s.upsert({ session_id: 'n' });
    assert.deepEqual(s.appendRuns('n', [{}]).memory, { runs: [{}] });
    // Errors: an empty array, not an array, bad JSON, runs that are not an array, too large.
    throwsCode(() => s.appendRuns('a', []), 'INVALID_ARGUMENT', ss.InvalidArgumentError, /empty/);
    throwsCode(() => s.appendRunsRaw('a', '{"n":1}'), 'INVALID_ARGUMENT', ss.InvalidArgumentError);
    throwsCode(() => s.appendRunsRaw('a', '[1,'), 'INVALID_JSON', ss.InvalidJsonError);
    assert.throws(() => s.appendRuns('a', { n: 1 }), (e) => e instanceof TypeError && e.code === 'INVALID_ARGUMENT');
    s.upsert({ session_id: 'bad', memory: { runs: 'not a list' } });
    throwsCode(() => s.appendRuns('bad', [1]), 'INVALID_SESSION', ss.InvalidSessionError, /memory\.runs/);
    const before = s.read('a');
    throwsCode(() => s.appendRuns('a', ['x'.repeat(40 * 1024 * 1024)]), 'TOO_LARGE', ss.TooLargeError);
    assert.deepEqual(s.read('a'), before, 'nothing changed');
  });
  withStore({ mode: 'workflow_v2' }, (s) => {
    s.upsert({ session_id: 'w', workflow_id: 'wf' });
    assert.deepEqual(s.appendRuns('w', [{ step: 1 }]).runs, [{ step: 1 }]);
    assert.deepEqual(s.appendRuns('w', [{ step: 2 }]).runs, [{ step: 1 }, { step: 2 }]);
    assert.equal(s.read('w').memory, undefined);
  });
});

test('changes: in order, with seq, op, session_type, session_id, version and session; idsOnly; paging', () => {
  withStore({}, (s) => {
    const team = s.share('team');
    try {
      const a = s.upsert({ session_id: 'a', user_id: 'u' }); // 1
      team.upsert({ session_id: 't', team_id: 'T' }); // 2
      s.renameSession('a', 'n'); // 3
      const a4 = s.appendRuns('a', [{ r: 1 }]); // 4
      team.deleteSession('t'); // 5
      s.upsertMany([{ session_id: 'b' }, { session_id: 'c' }]); // 6, 7: one change a session
      s.deleteSessions(['b', 'c']); // 8, 9
      team.upsert({ session_id: 't2' }); // 10
      team.drop(); // 11: one change for the drop

      const all = s.changes(0);
      assert.equal(all.latest, 11);
      assert.equal(all.next, 11);
      assert.deepEqual(
        all.changes.map((c) => [c.seq, c.op, c.session_type, c.session_id]),
        [
          [1, 'upsert', 'agent', 'a'],
          [2, 'upsert', 'team', 't'],
          [3, 'upsert', 'agent', 'a'],
          [4, 'upsert', 'agent', 'a'],
          [5, 'delete', 'team', 't'],
          [6, 'upsert', 'agent', 'b'],
          [7, 'upsert', 'agent', 'c'],
          [8, 'delete', 'agent', 'b'],
          [9, 'delete', 'agent', 'c'],
          [10, 'upsert', 'team', 't2'],
          [11, 'drop', 'team', undefined],
        ],
      );
      assert.deepEqual(all.changes[0].session, a, 'the session as that change stored it');
      assert.deepEqual(all.changes[3].session, a4);
      for (const c of all.changes.filter((x) => x.op === 'upsert')) {
        assert.equal(c.version, c.seq);
        assert.equal(c.session.version, c.seq);
      }
      assert.deepEqual(Object.keys(all.changes[4]).sort(), ['op', 'seq', 'session_id', 'session_type']);
      assert.deepEqual(Object.keys(all.changes[10]).sort(), ['op', 'seq', 'session_type']);
      assert.deepEqual(team.changes(0), all, 'the feed covers every type, whatever the handle');
      assert.deepEqual(JSON.parse(s.changesRaw(0)), all);

      // idsOnly: the same changes without "session".
      const ids = s.changes(0, { idsOnly: true });
      assert.deepEqual(ids.changes, all.changes.map(({ session: _s, ...rest }) => rest));
      assert.ok(ids.changes.every((c) => !('session' in c)));
      assert.doesNotMatch(s.changesRaw(0n, { idsOnly: true }), /"session"/);
      assert.deepEqual(s.changes(0, { idsOnly: false }), all);

      // Paging with limit and next; nothing new: an empty page whose next is `after`.
      const seen = [];
      let after = 0;
      for (;;) {
        const page = s.changes(after, { limit: 4 });
        assert.ok(page.changes.length <= 4);
        assert.equal(page.latest, 11);
        if (page.changes.length === 0) {
          assert.equal(page.next, after);
          break;
        }
        seen.push(...page.changes.map((c) => c.seq));
        assert.equal(page.next, page.changes[page.changes.length - 1].seq);
        after = page.next;
      }
      assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      assert.match(all.store, /^[0-9a-f]{32}$/);
      assert.deepEqual(s.changes(11), { changes: [], next: 11, latest: 11, store: all.store });
      assert.deepEqual(s.changes(9, { limit: 1n }).changes.map((c) => c.seq), [10]);
    } finally {
      team.close();
    }
  });
});

test('feedBytes: a small feed keeps the latest changes; an older `after` is a FeedTruncatedError', () => {
  withStore({ feedBytes: 2000 }, (s) => {
    for (let i = 0; i < 40; i++) s.upsert({ session_id: `s${i % 5}`, pad: 'p'.repeat(100) });
    const feed = s.stats().feed;
    assert.equal(feed.latest, 40);
    assert.equal(feed.budget, 2000);
    assert.ok(feed.bytes <= feed.budget, JSON.stringify(feed));
    assert.ok(feed.oldest > 1 && feed.oldest <= 40, JSON.stringify(feed));
    assert.equal(feed.kept, feed.latest - feed.oldest + 1);
    const e = truncated(() => s.changes(0), new RegExp(`keeps changes ${feed.oldest} to 40`));
    assert.ok(e instanceof SessionStoreError);
    truncated(() => s.changes(feed.oldest - 2));
    truncated(() => s.changesRaw(feed.oldest - 2, { idsOnly: true }));
    // From the change before the oldest kept, everything is there.
    const from = s.changes(feed.oldest - 1);
    assert.deepEqual(
      from.changes.map((c) => c.seq),
      Array.from({ length: feed.kept }, (_, i) => feed.oldest + i),
    );
    // Beyond the latest change: a number from another store (or another life of this one).
    truncated(() => s.changes(41), /never made here/);
  });
  withStore({ feedBytes: 0 }, (s) => {
    const store = s.stats().feed.store;
    assert.deepEqual(s.changes(0), { changes: [], next: 0, latest: 0, store });
    s.upsert({ session_id: 'x' });
    assert.deepEqual(s.stats().feed, { store, latest: 1, oldest: 2, kept: 0, bytes: 0, budget: 0 });
    truncated(() => s.changes(0));
    assert.deepEqual(s.changes(1), { changes: [], next: 1, latest: 1, store }, 'nothing new is not an error');
  });
});

test('exportWithSeq + changes after its seq, applied by session_id, equal a fresh export', () => {
  withStore({}, (s) => {
    const team = s.share('team');
    const wf = s.share('workflow_v2');
    try {
      s.upsertMany([{ session_id: 'a1', user_id: 'u' }, { session_id: 'a2' }, { session_id: 'a3' }]);
      team.upsert({ session_id: 't1' });
      const { data, seq } = s.exportWithSeq();
      assert.equal(seq, 4);
      assert.deepEqual(Object.keys(data), ['a1', 'a2', 'a3', 't1']);
      const raw = s.exportWithSeqRaw();
      assert.equal(raw.seq, 4n);
      assert.deepEqual(JSON.parse(raw.json), data);

      // Every kind of change after the export, from several handles.
      s.renameSession('a1', 'trip');
      s.appendRuns('a1', [{ q: 'hi' }]);
      s.deleteSession('a2');
      s.upsertIf({ session_id: 'a3', extra: true }, s.read('a3').version);
      wf.upsert({ session_id: 'w1', runs: [] });
      wf.appendRuns('w1', [1, 2]);
      team.upsert({ session_id: 't2' });
      team.drop();
      s.import({ i1: { session_id: 'i1' }, a1: { ...s.read('a1'), imported: 1 } });
      s.deleteSessions(['i1', 'nope']);
      s.deleteSessionIf('a3', s.read('a3').version);
      s.upsert({ session_id: 'a3' }); // back again

      // Apply the feed, a few changes a page, to the export.
      const mirror = { ...data };
      let after = seq;
      for (;;) {
        const page = s.changes(after, { limit: 3 });
        if (page.changes.length === 0) break;
        for (const c of page.changes) {
          if (c.op === 'upsert') {
            mirror[c.session_id] = c.session;
          } else if (c.op === 'delete' || c.op === 'expire' || c.op === 'evict') {
            delete mirror[c.session_id];
          } else if (c.op === 'drop') {
            for (const [id, sess] of Object.entries(mirror)) if (sess.session_type === c.session_type) delete mirror[id];
          }
        }
        after = page.next;
      }
      assert.equal(after, s.stats().feed.latest);
      // Compared as maps keyed by session_id (the export's key order is first insertion, which a mirror need not
      // keep), and the same with the exact texts of every session.
      const fresh = s.export();
      assert.deepEqual(sortKeys(mirror), sortKeys(fresh));
      assert.equal(Object.keys(mirror).length, 3);
      assert.equal(mirror.a1.imported, 1);
    } finally {
      team.close();
      wf.close();
    }
  });
});

function sortKeys(obj) {
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
}

test('exportWithSeq is consistent: its seq is the latest change it holds, on an empty store 0', () => {
  withStore({}, (s) => {
    assert.deepEqual(s.exportWithSeq(), { data: {}, seq: 0 });
    assert.deepEqual(s.exportWithSeqRaw(), { json: '{}', seq: 0n });
    s.upsert({ session_id: 'x' });
    s.deleteSession('x');
    const { data, seq } = s.exportWithSeq();
    assert.deepEqual(data, {});
    assert.equal(seq, 2, 'a delete is a change too');
    assert.deepEqual(s.changes(seq).changes, []);
  });
});

test('a durable store numbers on across reopens; its feed holds the replayed changes', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-node-versions-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = path.join(dir, 'store');
  withStore({ path: store, sync: 'os' }, (s) => {
    s.upsert({ session_id: 'a' });
    s.appendRuns('a', [1]);
    s.upsert({ session_id: 'b' });
    s.deleteSession('b');
  });
  withStore({ path: store, sync: 'os' }, (s) => {
    assert.equal(s.read('a').version, 2);
    assert.deepEqual(
      s.changes(0, { idsOnly: true }).changes.map((c) => [c.seq, c.op, c.session_id]),
      [
        [1, 'upsert', 'a'],
        [2, 'upsert', 'a'],
        [3, 'upsert', 'b'],
        [4, 'delete', 'b'],
      ],
    );
    assert.equal(s.upsertIf({ session_id: 'a' }, 2).version, 5);
    assert.equal(s.exportWithSeq().seq, 5);
  });
});

/** The store's identity, checked: 32 hex digits, the same in changes(), changesRaw(), stats() and statsRaw(). */
function storeId(s) {
  const { feed } = s.stats();
  assert.match(feed.store, /^[0-9a-f]{32}$/, JSON.stringify(feed));
  assert.equal(s.changes(feed.latest).store, feed.store);
  assert.equal(s.changes(feed.latest, { idsOnly: true }).store, feed.store);
  assert.equal(JSON.parse(s.changesRaw(feed.latest)).store, feed.store);
  assert.equal(JSON.parse(s.statsRaw()).feed.store, feed.store);
  return feed.store;
}

test('store identity: one a store, whatever the handle or the writes; a store made anew has another', () => {
  const ids = withStore({}, (s) => {
    const id = storeId(s);
    const raw = s.changesRaw(0);
    assert.ok(raw.endsWith(`,"store":"${id}"}`), raw);
    assert.match(s.statsRaw(), new RegExp(`"feed":\\{"store":"${id}","latest":0,`));
    const team = s.share('team');
    try {
      team.upsert({ session_id: 't' });
      s.upsert({ session_id: 'a' });
      assert.equal(storeId(team), id, 'a shared handle: the same store');
      assert.equal(storeId(s), id, 'writes do not change it');
      assert.equal(s.changes(0).store, id);
    } finally {
      team.close();
    }
    // A store made anew, even loaded from this one's export (same sessions, same numbers), is another store.
    const { data } = s.exportWithSeq();
    const copy = withStore({}, (c) => {
      c.import(data);
      return storeId(c);
    });
    return [id, copy, withStore({}, storeId), withStore({}, storeId)];
  });
  assert.equal(new Set(ids).size, ids.length, `stores made anew share an identity: ${ids}`);
});

test('store identity: a durable store keeps its own across reopens (its IDENTITY file); another directory has another', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-node-identity-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = path.join(dir, 'store');
  const id = withStore({ path: store, sync: 'os' }, (s) => {
    s.upsert({ session_id: 'a' });
    return storeId(s);
  });
  assert.equal(fs.readFileSync(path.join(store, 'IDENTITY'), 'utf8').trim(), id);
  for (let i = 0; i < 2; i++) {
    withStore({ path: store, sync: 'os' }, (s) => {
      assert.equal(storeId(s), id, `reopen ${i + 1}`);
      assert.equal(s.changes(0).store, id);
      s.upsert({ session_id: 'a' });
    });
  }
  const other = withStore({ path: path.join(dir, 'other'), sync: 'os' }, storeId);
  assert.notEqual(other, id);
  assert.notEqual(withStore({}, storeId), id);
});

test('stats().feed: store, latest, oldest, kept, bytes, budget', () => {
  withStore({ feedBytes: 1 << 20 }, (s) => {
    s.upsert({ session_id: 'a' });
    s.upsert({ session_id: 'b' });
    const { feed } = s.stats();
    assert.deepEqual(Object.keys(feed), ['store', 'latest', 'oldest', 'kept', 'bytes', 'budget']);
    assert.equal(feed.store, s.changes(0).store);
    assert.equal(feed.latest, 2);
    assert.equal(feed.oldest, 1);
    assert.equal(feed.kept, 2);
    assert.ok(feed.bytes > 0);
    assert.equal(feed.budget, 1 << 20);
    assert.deepEqual(JSON.parse(s.statsRaw()).feed, feed);
  });
});

test('change numbers above 2^53 - 1 are a TooLargeError in the parsed results, exact in the Raw ones', () => {
  // No store reaches 2^53 changes (one number a change: ~285 years at a million a second), so the conversion is
  // checked on its own: what changes() and exportWithSeq() apply to what the library returns.
  const { seqNumber, parseChanges } = ss._internal;
  assert.equal(seqNumber(2n ** 53n - 1n, 'seq'), Number.MAX_SAFE_INTEGER);
  assert.equal(seqNumber(0n, 'seq'), 0);
  for (const big of [2n ** 53n, 2n ** 64n - 1n]) {
    throwsCode(() => seqNumber(big, 'seq'), 'TOO_LARGE', TooLargeError, new RegExp(`seq ${big} is above`));
  }
  const page = (next, seq, version) =>
    `{"changes":[{"seq":${seq},"op":"upsert","session_type":"agent","session_id":"a","version":${version},` +
    `"session":{"session_id":"a","version":${version}}}],"next":${next},"latest":${next},` +
    '"store":"0123456789abcdef0123456789abcdef"}';
  const max = '9007199254740991'; // 2^53 - 1
  assert.equal(parseChanges(page(max, max, max)).next, Number.MAX_SAFE_INTEGER);
  // 2^53 + 1 would parse as 2^53: refused, not rounded.
  throwsCode(() => parseChanges(page('9007199254740993', 1, 1)), 'TOO_LARGE', TooLargeError, /next/);
  throwsCode(() => parseChanges(page(max, '9007199254740992', 1)), 'TOO_LARGE', TooLargeError, /seq/);
  throwsCode(() => parseChanges(page(max, 1, '18446744073709551615')), 'TOO_LARGE', TooLargeError, /version/);
  // The Raw variants are exact: the text as the library wrote it, exportWithSeqRaw's seq a bigint.
  withStore({}, (s) => {
    s.upsert({ session_id: 'a' });
    assert.equal(typeof s.exportWithSeqRaw().seq, 'bigint');
    assert.equal(typeof s.exportWithSeq().seq, 'number');
  });
});
