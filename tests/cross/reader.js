'use strict';

// The Node reader of the cross-language test (tests/cross/run.sh), the twin of reader_go/main.go: it reads,
// through the Node binding, the Redis store that the C writer (tests/cross/writer.c) fills at the same time.
//
// It announces itself with the session "ready-node", then reads "shared" over and over until "done" exists,
// checking that what it sees only moves forward (version and runs never decrease) and is always whole (the runs
// are exactly {"i":0}..{"i":k-1}). Then it checks every session the writer wrote, the listing of one user, and
// the final "shared", writes "from-node" with the number of distinct versions of "shared" it saw, and prints a
// one-line summary. Any failure exits non-zero.
//
// Usage: node reader.js REDIS_URL NAMESPACE

const path = require('node:path');
const { SessionStore } = require(path.join(__dirname, '..', '..', 'bindings', 'node'));

const SESSIONS = 200;
const USERS = 7;
const RUNS = 100;
// How long the reader waits for the writer's "done"; run.sh's own timeout is longer.
const WAIT_DONE_MS = 60_000;

class Failure extends Error {}

function fail(message) {
  throw new Failure(message);
}

/**
 * Reads "shared" and checks that it is whole: valid JSON, its own id, a version, and runs that are exactly
 * {"i":0}..{"i":k-1}, in order (appends land whole and in order, or not at all). Returns { version, runs }, or
 * null while the writer has not created it.
 */
function readShared(store) {
  const raw = store.readRaw('shared');
  if (raw === null) return null;
  let s;
  try {
    s = JSON.parse(raw);
  } catch (e) {
    fail(`shared is not a whole session (${e.message}): ${raw}`);
  }
  if (s.session_id !== 'shared' || !Number.isSafeInteger(s.version) || s.version <= 0) {
    fail(`shared: bad session_id or version: ${raw}`);
  }
  const runs = s.memory == null ? [] : s.memory.runs;
  if (!Array.isArray(runs)) fail(`shared: memory.runs is not an array: ${raw}`);
  runs.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || Object.keys(r).length !== 1 || r.i !== i) {
      fail(`shared: run ${i} is ${JSON.stringify(r)}, want {"i":${i}}: ${raw}`);
    }
  });
  return { version: s.version, runs: runs.length };
}

/**
 * Reads "shared" as fast as it can until "done" exists, and checks that no read goes back in time: its version
 * and its number of runs never decrease, and one version always has the same runs.
 */
function follow(store) {
  const f = { versions: 0, reads: 0, minRuns: -1, maxRuns: -1 };
  let last = null;
  const deadline = Date.now() + WAIT_DONE_MS;
  for (;;) {
    // "done" is looked at before "shared": once it exists, the read of "shared" that follows sees the writer's
    // last append too.
    const done = store.readRaw('done') !== null;
    const s = readShared(store);
    f.reads++;
    if (s === null) {
      if (last !== null) fail(`shared disappeared after version ${last.version}`);
    } else {
      if (last !== null) {
        if (s.version < last.version) fail(`shared went back from version ${last.version} to ${s.version}`);
        if (s.runs < last.runs) fail(`shared went back from ${last.runs} runs to ${s.runs}`);
        if (s.version === last.version && s.runs !== last.runs) {
          fail(`shared version ${s.version} was seen with ${last.runs} and with ${s.runs} runs`);
        }
      }
      if (last === null || s.version > last.version) f.versions++;
      if (f.minRuns < 0) f.minRuns = s.runs;
      f.maxRuns = s.runs;
      last = s;
    }
    if (done) return f;
    if (Date.now() > deadline) fail(`"done" did not appear within ${WAIT_DONE_MS / 1000} s (see the writer's output)`);
  }
}

/** Checks the writer's final state: every c-* session exactly, the listing of user u-3, and the runs of "shared". */
function verify(store) {
  for (let i = 0; i < SESSIONS; i++) {
    const id = `c-${i}`;
    const raw = store.readRaw(id);
    if (raw === null) fail(`${id} is missing`);
    const s = JSON.parse(raw);
    if (
      s.session_id !== id ||
      s.session_type !== 'agent' ||
      s.user_id !== `u-${i % USERS}` ||
      s.agent_id !== 'a1' ||
      !Number.isSafeInteger(s.version) ||
      s.version <= 0
    ) {
      fail(`${id}: unexpected fields: ${raw}`);
    }
    const data = s.session_data;
    if (data === null || typeof data !== 'object' || Object.keys(data).length !== 1 || data.n !== i) {
      fail(`${id}: session_data is ${JSON.stringify(data)}, want {"n":${i}}`);
    }
  }

  const want = [];
  for (let i = 3; i < SESSIONS; i += USERS) want.push(`c-${i}`);
  const ids = store.getAllSessionIds({ userId: 'u-3' });
  if (JSON.stringify(ids) !== JSON.stringify(want)) {
    fail(`ids of u-3 are ${JSON.stringify(ids)}, want ${JSON.stringify(want)}`);
  }

  const s = readShared(store);
  if (s === null) fail('shared is gone at the end');
  if (s.runs !== RUNS) fail(`shared has ${s.runs} runs at the end, want ${RUNS}`);
}

function main(argv) {
  if (argv.length !== 2) {
    console.error('usage: node reader.js REDIS_URL NAMESPACE');
    return 2;
  }
  const [url, namespace] = argv;
  try {
    const store = new SessionStore({ backend: 'redis', url, namespace });
    try {
      store.upsert({ session_id: 'ready-node', agent_id: 'a1' });
      const f = follow(store);
      verify(store);
      store.upsert({ session_id: 'from-node', agent_id: 'a1', session_data: { seen_versions: f.versions } });
      console.log(
        `reader-node: ok seen_versions=${f.versions} reads=${f.reads} runs_seen=${f.minRuns}..${f.maxRuns}; ` +
          `${SESSIONS} sessions, the u-3 listing and ${RUNS} runs exact`,
      );
    } finally {
      store.close();
    }
    return 0;
  } catch (e) {
    // A failed check is its message; anything else (a binding error) keeps its stack.
    console.error(`reader-node: FAIL: ${e instanceof Failure ? e.message : e.stack}`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
