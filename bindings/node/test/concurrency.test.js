'use strict';

// Concurrent writers on ONE session, with the calls really running at the same time in the native library:
// appendRuns from N threads at once (every run lands, each thread's in its order), and the read-modify-write loop
// with upsertIf (retry on VersionMismatchError) from N threads at once.
//
// How the calls run in parallel. The binding's API is synchronous: a call runs on the JavaScript thread, so calls
// from one thread never overlap. Two ways to run them on several threads were weighed:
//  - worker_threads (rejected): each worker loads its own copy of the binding and opens its own stores
//    (lifecycle.test.js); a store in memory cannot be opened twice as "the same" store, and a durable one is
//    LOCKED to its first opener. Sharing one store would mean handing a worker a raw ss_store address to adopt;
//    the binding deliberately has no way to adopt an arbitrary pointer (see `adopting` in index.js and
//    hostile.test.js), and a worker could not know when another thread closes the handle it borrowed.
//  - koffi's asynchronous calls (chosen): `fn.async` runs a C call on a libuv worker thread and reports to the
//    JavaScript thread when it returns. These tests use them through a test hook of index.js
//    (`_internal.asyncCall(store, 'appendRuns' | 'upsertIf' | 'read', ...args)`, not part of the API): the same
//    koffi declarations, argument checks and decoding as the synchronous methods, an out-parameter block per
//    call, and the handle kept open until every call in flight has returned.
// Each of the N "threads" below is an async loop that awaits its previous call before making the next, so at any
// time up to N calls are in flight, one per loop, running on up to UV_THREADPOOL_SIZE threads (set to N + 1 here
// before the pool starts, which the first test checks; libuv's default, 4, would still run 4 at once). One more
// writer makes the synchronous public calls on the JavaScript thread meanwhile, between awaits.

const N = 8; // threads
const M = 50; // runs per thread
process.env.UV_THREADPOOL_SIZE = String(N + 1);

const test = require('node:test');
const assert = require('node:assert/strict');
const { setImmediate: tick } = require('node:timers/promises');
const ss = require('..');
const { SessionStore, VersionMismatchError } = ss;
const { asyncCall } = ss._internal;

test(`koffi's asynchronous calls run ${N + 1} at once here (the thread pool took UV_THREADPOOL_SIZE)`, async (t) => {
  if (process.platform !== 'linux') return t.skip('uses libc.so.6');
  // N + 1 sleeps of 200 ms: about 200 ms on N + 1 threads, 600 ms on libuv's default 4, 1800 ms one at a time.
  const koffi = require('koffi');
  const usleep = koffi.load('libc.so.6').func('int usleep(uint32_t usec)');
  const started = Date.now();
  await Promise.all(Array.from({ length: N + 1 }, () => new Promise((resolve) => usleep.async(200_000, resolve))));
  const elapsed = Date.now() - started;
  t.diagnostic(`${N + 1} x 200 ms sleeps: ${elapsed} ms`);
  assert.ok(elapsed < 450, `${elapsed} ms: the calls did not run at once`);
});

/** Asserts that runs holds exactly M runs of each writer in writers, and each writer's in its order. */
function assertEveryRunInOrder(runs, writers) {
  assert.equal(runs.length, writers.length * M);
  for (const w of writers) {
    assert.deepEqual(
      runs.filter((r) => r.w === w).map((r) => r.j),
      Array.from({ length: M }, (_, j) => j),
      `writer ${w}: every run, in its order`,
    );
  }
}

test(`appendRuns from ${N} threads at once (and the JavaScript thread): all ${N + 1} x ${M} runs land, in order`, async () => {
  const s = new SessionStore();
  // Each thread writes through a handle of its own on the same store (share()): appends from any number of
  // handles all land.
  const handles = Array.from({ length: N }, () => s.share());
  try {
    s.upsert({ session_id: 'chat', user_id: 'u', memory: { runs: [] } });
    let inFlight = 0;
    let maxInFlight = 0;
    const thread = async (w) => {
      for (let j = 0; j < M; j++) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const stored = await asyncCall(handles[w], 'appendRuns', 'chat', [{ w, j }], { userId: 'u' });
        inFlight--;
        assert.equal(stored.session_id, 'chat');
      }
    };
    const mainThread = async () => {
      for (let j = 0; j < M; j++) {
        s.appendRuns('chat', [{ w: 'main', j }]); // synchronous, while the others run on the pool
        await tick();
      }
    };
    await Promise.all([...Array.from({ length: N }, (_, w) => thread(w)), mainThread()]);
    assert.equal(maxInFlight, N, 'N calls were in flight at once');

    const session = s.read('chat');
    assertEveryRunInOrder(session.memory.runs, [...Array.from({ length: N }, (_, w) => w), 'main']);
    // One change each: the upsert, then every append; the feed has them all, in order.
    assert.equal(session.version, 1 + (N + 1) * M);
    const feed = s.changes(0, { idsOnly: true });
    assert.equal(feed.changes.length, 1 + (N + 1) * M);
    assert.ok(feed.changes.every((c, i) => c.seq === i + 1 && c.op === 'upsert' && c.session_id === 'chat'));
  } finally {
    for (const h of handles) h.close();
    s.close();
  }
});

test(`read + upsertIf loops from ${N} threads (and the JavaScript thread): retried on mismatch, all ${N + 1} x ${M} runs land`, async () => {
  const s = new SessionStore({ mode: 'team' });
  try {
    s.upsert({ session_id: 'doc', team_id: 'T', memory: { runs: [] } });
    let mismatches = 0;
    let writes = 0;
    // The compare-and-set loop, as an application writes it: read the session and its version, change it, write
    // it only if nobody wrote in between, else start again from a fresh read.
    const thread = async (w, read, upsertIf) => {
      for (let j = 0; j < M; j++) {
        for (;;) {
          const current = await read('doc');
          current.memory.runs.push({ w, j });
          try {
            const stored = await upsertIf(current, current.version);
            assert.ok(stored.version > current.version);
            writes++;
            break;
          } catch (e) {
            if (!(e instanceof VersionMismatchError)) throw e;
            assert.equal(e.code, 'VERSION_MISMATCH');
            mismatches++;
          }
        }
      }
    };
    const onPool = (w) =>
      thread(
        w,
        (id) => asyncCall(s, 'read', id),
        (session, v) => asyncCall(s, 'upsertIf', session, v),
      );
    // The JavaScript thread's writer uses the public synchronous methods; its awaits let the others interleave.
    const onMain = () =>
      thread(
        'main',
        async (id) => {
          await tick();
          return s.read(id);
        },
        async (session, v) => {
          await tick();
          return s.upsertIf(session, v);
        },
      );
    await Promise.all([...Array.from({ length: N }, (_, w) => onPool(w)), onMain()]);

    const session = s.read('doc');
    assertEveryRunInOrder(session.memory.runs, [...Array.from({ length: N }, (_, w) => w), 'main']);
    assert.equal(writes, (N + 1) * M);
    // Writers that read the same version raced, and all but one lost: the loop was exercised (the first round
    // alone starts N reads before any write), and a lost race changed nothing (one change a successful write).
    assert.ok(mismatches > 0, 'some writes lost the race and were retried');
    assert.equal(session.version, 1 + (N + 1) * M);
    assert.equal(s.stats().feed.latest, 1 + (N + 1) * M);
  } finally {
    s.close();
  }
});

test('asynchronous calls (test hook): close() while they run waits for them; later calls throw CLOSED', async () => {
  const s = new SessionStore();
  const other = s.share();
  try {
    s.upsert({ session_id: 'a', memory: { runs: [] } });
    const calls = Array.from({ length: 20 }, (_, j) => asyncCall(s, 'appendRuns', 'a', [j]));
    s.close(); // the native handle stays open until the 20 calls have returned
    assert.equal(s.closed, true);
    assert.throws(() => s.read('a'), { code: 'CLOSED' });
    await assert.rejects(asyncCall(s, 'read', 'a'), { code: 'CLOSED' });
    const stored = await Promise.all(calls);
    assert.equal(stored.length, 20);
    assert.deepEqual(other.read('a').memory.runs.sort((x, y) => x - y), Array.from({ length: 20 }, (_, j) => j));
    // Their errors come back as the synchronous methods' errors, their misses as null.
    await assert.rejects(asyncCall(other, 'appendRuns', 'absent', [1]), { code: 'NOT_FOUND' });
    await assert.rejects(asyncCall(other, 'upsertIf', { session_id: 'a' }, 0), VersionMismatchError);
    await assert.rejects(asyncCall(other, 'appendRuns', 'a', 'not an array'), TypeError);
    assert.equal(await asyncCall(other, 'read', 'absent'), null);
  } finally {
    s.close();
    other.close();
  }
});
