'use strict';

// Handle lifetime: close, double close, use after close, Symbol.dispose, the FinalizationRegistry safety net,
// and memory: 100k open/close cycles and many calls whose returned strings must all be freed.

const test = require('node:test');
const assert = require('node:assert/strict');
const v8 = require('node:v8');
const vm = require('node:vm');
const { SessionStore, SessionStoreError, ClosedError } = require('..');

v8.setFlagsFromString('--expose-gc');
const gc = global.gc || vm.runInNewContext('gc');

const MiB = 1024 * 1024;
const rss = () => process.memoryUsage().rss;
const tick = () => new Promise((resolve) => setImmediate(resolve));

async function settle() {
  for (let i = 0; i < 4; i++) {
    gc();
    await tick(); // let FinalizationRegistry callbacks run
  }
}

// Every public method with valid arguments.
const CALLS = {
  upsert: (s) => s.upsert({ session_id: 'x' }),
  upsertRaw: (s) => s.upsertRaw('{"session_id":"x"}'),
  upsertMany: (s) => s.upsertMany([{ session_id: 'x' }]),
  upsertManyRaw: (s) => s.upsertManyRaw('[{"session_id":"x"}]'),
  read: (s) => s.read('x'),
  readRaw: (s) => s.readRaw('x', 'u'),
  getAllSessionIds: (s) => s.getAllSessionIds({ userId: 'u' }),
  getAllSessionIdsRaw: (s) => s.getAllSessionIdsRaw(),
  getAllSessions: (s) => s.getAllSessions(),
  getAllSessionsRaw: (s) => s.getAllSessionsRaw(),
  getRecentSessions: (s) => s.getRecentSessions({ limit: 5 }),
  getRecentSessionsRaw: (s) => s.getRecentSessionsRaw(),
  query: (s) => s.query({ limit: 1, sessionType: 'any', fields: 'metadata' }),
  queryRaw: (s) => s.queryRaw('{}'),
  renameSession: (s) => s.renameSession('x', 'n'),
  renameSessionRaw: (s) => s.renameSessionRaw('x', 'n'),
  deleteSession: (s) => s.deleteSession('x', { userId: 'u' }),
  deleteSessions: (s) => s.deleteSessions(['x'], { userId: 'u' }),
  deleteSessionsRaw: (s) => s.deleteSessionsRaw('["x"]', { userId: null }),
  drop: (s) => s.drop(),
  stats: (s) => s.stats(),
  statsRaw: (s) => s.statsRaw(),
  sync: (s) => s.sync(),
  export: (s) => s.export(),
  exportRaw: (s) => s.exportRaw(),
  import: (s) => s.import({}),
  importRaw: (s) => s.importRaw('{}'),
  // 0.3, in this order on an open store (the expected versions are read while the store is open; once it is
  // closed, any version does: the call must throw CLOSED before it looks at it).
  upsertIf: (s) => s.upsertIf({ session_id: 'cas' }, 0),
  upsertIfRaw: (s) => s.upsertIfRaw('{"session_id":"cas"}', s.closed ? 1 : s.read('cas').version),
  renameSessionIf: (s) => s.renameSessionIf('cas', 'n', s.closed ? 1 : s.read('cas').version),
  renameSessionIfRaw: (s) => s.renameSessionIfRaw('cas', 'm', s.closed ? 1n : BigInt(s.read('cas').version)),
  appendRuns: (s) => s.appendRuns('cas', [{ run_id: 'r1' }]),
  appendRunsRaw: (s) => s.appendRunsRaw('cas', '[{"run_id":"r2"}]', { userId: null }),
  deleteSessionIf: (s) => s.deleteSessionIf('cas', s.closed ? 1 : s.read('cas').version),
  changes: (s) => s.changes(0, { limit: 10 }),
  changesRaw: (s) => s.changesRaw(0n, { idsOnly: true }),
  exportWithSeq: (s) => s.exportWithSeq(),
  exportWithSeqRaw: (s) => s.exportWithSeqRaw(),
  share: (s) => s.share('team'),
};

test('every method is covered by the use-after-close list', () => {
  const methods = Object.getOwnPropertyNames(SessionStore.prototype).filter(
    (name) =>
      name !== 'constructor' &&
      name !== 'close' &&
      typeof Object.getOwnPropertyDescriptor(SessionStore.prototype, name).value === 'function',
  );
  assert.deepEqual(methods.sort(), Object.keys(CALLS).sort());
});

test('close is idempotent; every call after it throws CLOSED and never reaches the freed handle', () => {
  const s = new SessionStore();
  s.upsert({ session_id: 'x' });
  assert.equal(s.closed, false);
  s.close();
  assert.equal(s.closed, true);
  s.close(); // double close: no-op
  s.close();
  for (const [name, call] of Object.entries(CALLS)) {
    let caught;
    try {
      call(s);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof SessionStoreError, `${name} after close must throw SessionStoreError`);
    assert.ok(caught instanceof ClosedError, name);
    assert.equal(caught.code, 'CLOSED', name);
    assert.equal(caught.status, 65536, name); // SS_BINDING_STATUS_CLOSED
    assert.match(caught.message, /closed/);
  }
  // The closed check comes before argument checks.
  assert.throws(() => s.read(42), { code: 'CLOSED' });
  assert.equal(s.mode, 'agent', 'mode stays readable');
});

test('methods work (and do not throw) on an open store', () => {
  const s = new SessionStore();
  try {
    for (const [name, call] of Object.entries(CALLS)) {
      const out = call(s);
      if (name === 'share') out.close();
    }
  } finally {
    s.close();
  }
});

test('closing one handle leaves the sharing handles usable', () => {
  const a = new SessionStore();
  const b = a.share();
  a.upsert({ session_id: 'k' });
  a.close();
  assert.throws(() => a.read('k'), { code: 'CLOSED' });
  assert.equal(b.read('k').session_id, 'k');
  b.close();
  assert.throws(() => b.read('k'), { code: 'CLOSED' });
});

test('Symbol.dispose closes the store', () => {
  assert.equal(typeof Symbol.dispose, 'symbol', 'Node 20 provides Symbol.dispose');
  const s = new SessionStore();
  assert.equal(typeof s[Symbol.dispose], 'function');
  s[Symbol.dispose]();
  assert.equal(s.closed, true);
  s[Symbol.dispose](); // idempotent too
  assert.throws(() => s.stats(), { code: 'CLOSED' });
});

test('100k open/close cycles do not grow memory', async (t) => {
  // A full GC every 5k cycles keeps V8 from growing its young generation (up to 2 x 16 MiB semi-spaces) under
  // this allocation rate, which would show in RSS once and then stay flat; a leak keeps growing.
  const cycle = (n) => {
    for (let i = 0; i < n; i++) {
      const s = new SessionStore(i % 2 ? { mode: 'team' } : undefined);
      s.close();
      if (i % 5000 === 4999) gc();
    }
  };
  cycle(20_000); // warm up allocators and JIT
  await settle();
  const before = rss();
  cycle(100_000);
  await settle();
  const grown = (rss() - before) / MiB;
  t.diagnostic(`RSS growth: ${grown.toFixed(1)} MiB`);
  assert.ok(grown < 16, `RSS grew by ${grown.toFixed(1)} MiB over 100k open/close cycles`);
});

test('100k open/share/close cycles with a session each do not grow memory', async (t) => {
  const cycle = (n) => {
    for (let i = 0; i < n; i++) {
      const s = new SessionStore();
      s.upsert({ session_id: 's', memory: 'm'.repeat(512) });
      const t = s.share('team');
      s.close();
      t.close();
      if (i % 5000 === 4999) gc();
    }
  };
  cycle(60_000); // warm up (see above): RSS reaches its plateau (~20 MiB over the start) here
  await settle();
  const before = rss();
  cycle(100_000);
  await settle();
  const grown = (rss() - before) / MiB;
  t.diagnostic(`RSS growth: ${grown.toFixed(1)} MiB`);
  assert.ok(grown < 24, `RSS grew by ${grown.toFixed(1)} MiB`);
});

test('returned strings and error messages are freed (no growth over many calls)', async (t) => {
  const s = new SessionStore();
  try {
    s.upsert({ session_id: 'big', memory: 'z'.repeat(4096) });
    const longMissing = 'missing-'.padEnd(1024, 'q');
    const run = (n) => {
      for (let i = 0; i < n; i++) {
        s.readRaw('big'); // 4 KiB out_json each
        s.readRaw(longMissing); // NOT_FOUND: error message (naming the 1 KiB id) dropped
        try {
          s.renameSession(longMissing, 'x'); // NOT_FOUND thrown: message decoded then freed
        } catch (e) {
          if (e.code !== 'NOT_FOUND') throw e;
        }
      }
    };
    run(5_000);
    await settle();
    const before = rss();
    run(100_000); // unfreed, this would hold ~400 MiB of JSON and ~200 MiB of messages
    await settle();
    const grown = (rss() - before) / MiB;
    t.diagnostic(`RSS growth: ${grown.toFixed(1)} MiB`);
    assert.ok(grown < 32, `RSS grew by ${grown.toFixed(1)} MiB`);
  } finally {
    s.close();
  }
});

test('0.3 calls free their results and messages: feed pages, exports with seq, version mismatches', async (t) => {
  // feedBytes 0: the feed keeps nothing, so the store itself does not grow with the writes below.
  const s = new SessionStore({ feedBytes: 0 });
  try {
    const big = s.upsert({ session_id: 'big', memory: { runs: [] }, pad: 'z'.repeat(4096) });
    const longId = 'cas-'.padEnd(1024, 'q');
    s.upsert({ session_id: longId });
    const run = (n) => {
      for (let i = 0; i < n; i++) {
        s.exportWithSeqRaw(); // ~5 KiB out_json each, and out_seq
        try {
          s.upsertIf({ session_id: longId }, 0); // VERSION_MISMATCH: message (naming the 1 KiB id) freed
        } catch (e) {
          if (e.code !== 'VERSION_MISMATCH') throw e;
        }
        try {
          s.changes(big.version + 1e6); // FEED_TRUNCATED: message freed
        } catch (e) {
          if (e.code !== 'FEED_TRUNCATED') throw e;
        }
      }
    };
    run(5_000);
    await settle();
    const before = rss();
    run(50_000); // unfreed, this would hold ~250 MiB of JSON and ~50 MiB of messages
    await settle();
    const grown = (rss() - before) / MiB;
    t.diagnostic(`RSS growth: ${grown.toFixed(1)} MiB`);
    assert.ok(grown < 32, `RSS grew by ${grown.toFixed(1)} MiB`);
  } finally {
    s.close();
  }
});

test('the FinalizationRegistry closes stores that were never closed', async (t) => {
  const leak = (n) => {
    for (let i = 0; i < n; i++) {
      const s = new SessionStore();
      s.upsert({ session_id: 'heavy', memory: 'h'.repeat(MiB) }); // ~1 MiB held by the native store
      // no close(): only the safety net can release it
    }
  };
  leak(20);
  await settle();
  const before = rss();
  for (let round = 0; round < 30; round++) {
    leak(10); // 300 MiB in total if nothing were released
    await settle();
  }
  const grown = (rss() - before) / MiB;
  t.diagnostic(`RSS growth: ${grown.toFixed(1)} MiB`);
  assert.ok(grown < 120, `RSS grew by ${grown.toFixed(1)} MiB: unclosed stores were not released`);
});

test('worker threads load the binding and use their own stores', async () => {
  const { Worker } = require('node:worker_threads');
  const pkg = require('node:path').resolve(__dirname, '..');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { SessionStore } = require(${JSON.stringify(pkg)});
    const s = new SessionStore({ mode: 'team' });
    for (let i = 0; i < 1000; i++) s.upsert({ session_id: 't' + i, team_id: 'T' + workerData });
    parentPort.postMessage(s.getAllSessionIds({ entityId: 'T' + workerData }).length);
    s.close();`;
  const counts = await Promise.all(
    [0, 1, 2].map(
      (n) =>
        new Promise((resolve, reject) => {
          const w = new Worker(code, { eval: true, workerData: n });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  assert.deepEqual(counts, [1000, 1000, 1000]);
  const s = new SessionStore();
  assert.equal(s.getAllSessionIds().length, 0);
  s.close();
});
