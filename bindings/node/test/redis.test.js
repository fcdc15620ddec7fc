'use strict';

// The Redis backend: the open options backend, url, namespace, connectTimeoutMs and commandTimeoutMs (checked by
// the binding, then by the library before it connects), and a real round trip through a redis-server this file
// starts on a free loopback port: two stores on one url and namespace see each other's writes, and once the server
// is gone a call throws an UnavailableError (status UNAVAILABLE, 16). redis-server must be installed (make test
// installs it, make -C ../.. test-deps): when it is missing these tests fail, they are never skipped.

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { spawn, spawnSync } = require('node:child_process');
const { setTimeout: delay } = require('node:timers/promises');
const ss = require('..');
const { SessionStore, SessionStoreError, InvalidArgumentError, UnavailableError, Status } = ss;

const REDIS_SERVER = process.env.REDIS_SERVER || 'redis-server';
// A loopback port where nothing listens (the library refuses the url's other keys before it connects).
const NOWHERE = 'redis://127.0.0.1:1/0';

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

/** Asserts an UnavailableError: its class, code, status and name. */
function throwsUnavailable(fn, what) {
  assert.throws(
    fn,
    (e) => {
      assert.ok(e instanceof UnavailableError, `expected UnavailableError, got ${e && e.stack}`);
      assert.ok(e instanceof SessionStoreError && e instanceof Error);
      assert.equal(e.name, 'UnavailableError');
      assert.equal(e.code, 'UNAVAILABLE', e.message);
      assert.equal(e.status, 16);
      assert.equal(e.status, Status.UNAVAILABLE);
      return true;
    },
    what,
  );
}

// --- a redis-server of the test's own ------------------------------------------------------------------------

/** A loopback port that was free a moment ago (the kernel's choice for port 0). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts a TCP connection on the loopback port. */
function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts `redis-server --port P --bind 127.0.0.1 --save "" --appendonly no` (nothing written to disk) on `port`
 * and waits until it accepts TCP connections. Resolves to { port, url, stop }; stop() kills it and waits for it to
 * exit (idempotent). Rejects when the server exits first or is not up within 10 s (the server stopped).
 */
async function startRedis(port) {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d) => (output += d));
  proc.stderr.on('data', (d) => (output += d));
  let exited = null; // the exit, once it happened
  const exit = new Promise((resolve) => {
    proc.once('error', (e) => {
      exited = { error: e };
      resolve();
    });
    proc.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  const stop = async () => {
    if (exited === null) proc.kill('SIGKILL');
    await exit;
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited !== null) {
      const why = exited.error ? exited.error.message : `exit code ${exited.code}, signal ${exited.signal}`;
      throw new Error(`${REDIS_SERVER} on port ${port} exited before it accepted connections (${why}):\n${output}`);
    }
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${REDIS_SERVER} on port ${port} did not accept connections within 10 s:\n${output}`);
    }
    await delay(20);
  }
  return { port, url: `redis://127.0.0.1:${port}/0`, stop };
}

/** A redis-server on a free port (another try on another port if the one found was taken meanwhile). */
async function redisOnFreePort() {
  let last;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startRedis(await freePort());
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

test('redis-server is installed (make test installs it): the Redis tests fail rather than skip without it', () => {
  const r = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  assert.equal(r.error, undefined, `${REDIS_SERVER} cannot be run (${r.error && r.error.message}): install it, make -C ../.. test-deps`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Redis server v=/);
});

// --- options ---------------------------------------------------------------------------------------------------

test('redis options: the local-only options are refused with backend redis (even at their defaults), before any connection', () => {
  const redis = { backend: 'redis', url: NOWHERE };
  for (const [option, key] of [
    [{ path: '/tmp/ss-node-redis-never-created' }, /path is not available with the redis backend/],
    [{ sync: 'os' }, /sync is not available with the redis backend/],
    [{ syncIntervalMs: 50 }, /sync_interval_ms/],
    [{ compactFactor: 3 }, /compact_factor/],
    [{ compactMinBytes: 1n }, /compact_min_bytes/],
    [{ maxSessions: 10 }, /max_sessions is not available with the redis backend/],
    [{ maxBytes: 1 << 20 }, /max_bytes/],
    [{ userMaxSessions: 1 }, /user_max_sessions/],
    [{ userMaxBytes: 1024n }, /user_max_bytes/],
    [{ whenFull: 'refuse' }, /when_full is not available with the redis backend/],
    [{ sync: 'interval' }, /sync is not available with the redis backend/],
    [{ maxSessions: 0 }, /max_sessions is not available with the redis backend/],
  ]) {
    throwsArg(() => new SessionStore({ ...redis, ...option }), InvalidArgumentError, key);
  }
  // A redis store needs a url; a namespace is 1 to 128 bytes (UTF-8).
  throwsArg(() => new SessionStore({ backend: 'redis' }), InvalidArgumentError, /needs a url/);
  throwsArg(() => new SessionStore({ backend: 'redis', url: null }), InvalidArgumentError, /needs a url/);
  for (const namespace of ['', 'n'.repeat(129), 'é'.repeat(65)]) {
    throwsArg(() => new SessionStore({ ...redis, namespace }), InvalidArgumentError, /namespace must be 1 to 128 bytes/);
  }
  throwsArg(() => new SessionStore({ backend: 'memcached', url: NOWHERE }), InvalidArgumentError, /unknown backend/);
  throwsArg(() => new SessionStore({ backend: 'Redis', url: NOWHERE }), InvalidArgumentError, /unknown backend/);
});

test('redis options: url, namespace and the timeouts are refused without backend redis', () => {
  for (const [option, key] of [
    [{ url: NOWHERE }, 'url'],
    [{ namespace: 'app' }, 'namespace'],
    [{ connectTimeoutMs: 500 }, 'connect_timeout_ms'],
    [{ commandTimeoutMs: 500n }, 'command_timeout_ms'],
  ]) {
    const pattern = new RegExp(`${key} is a key of the redis backend`);
    throwsArg(() => new SessionStore(option), InvalidArgumentError, pattern);
    throwsArg(() => new SessionStore({ backend: 'local', ...option }), InvalidArgumentError, pattern);
  }
  // backend 'local' (or null: the default) is an ordinary store.
  for (const backend of ['local', null, undefined]) {
    const s = new SessionStore({ backend, mode: 'team' });
    try {
      assert.equal(s.upsert({ session_id: 'l' }).session_type, 'team');
    } finally {
      s.close();
    }
  }
});

test('redis options: kinds and ranges are checked by the binding (TypeError, RangeError), naming the option', () => {
  const redis = { backend: 'redis', url: NOWHERE };
  for (const bad of [1, true, ['redis'], { toString: () => 'redis' }]) {
    throwsArg(() => new SessionStore({ backend: bad, url: NOWHERE }), TypeError, /backend must be a string/);
  }
  for (const bad of [42, new URL(NOWHERE), ['redis://x'], { toString: () => NOWHERE }]) {
    throwsArg(() => new SessionStore({ backend: 'redis', url: bad }), TypeError, /url must be a string/);
  }
  for (const bad of [7, {}, Symbol('ns')]) {
    throwsArg(() => new SessionStore({ ...redis, namespace: bad }), TypeError, /namespace must be a string/);
  }
  throwsArg(() => new SessionStore({ backend: 'redis', url: 'redis://127.0.0.1\0:1' }), InvalidArgumentError, /NUL/);
  throwsArg(() => new SessionStore({ ...redis, namespace: 'a\0b' }), InvalidArgumentError, /NUL/);
  for (const name of ['connectTimeoutMs', 'commandTimeoutMs']) {
    for (const bad of [0, 0n, -1, -1n, 1.5, NaN, Infinity, -Infinity, 2n ** 64n, 2 ** 64]) {
      throwsArg(() => new SessionStore({ ...redis, [name]: bad }), RangeError, new RegExp(`${name} must be an integer from 1`));
    }
    for (const bad of ['500', true, {}, [], new Number(500)]) {
      throwsArg(() => new SessionStore({ ...redis, [name]: bad }), TypeError, new RegExp(`${name} must be an integer`));
    }
  }
  // The library's snake_case keys are not options of the binding.
  for (const key of ['connect_timeout_ms', 'command_timeout_ms', 'connectTimeout', 'redisUrl']) {
    throwsArg(() => new SessionStore({ ...redis, [key]: 5 }), InvalidArgumentError, new RegExp(`unknown SessionStore option "${key}"`));
  }
});

test('hostile redis options: each is read once, before the library is called; a url object is not converted', () => {
  // The url getter answers differently each time; an option read after it is out of range, so the binding throws
  // before it calls the library: the getter ran once, and nothing was opened with either answer.
  let urlReads = 0;
  throwsArg(
    () =>
      new SessionStore({
        backend: 'redis',
        get url() {
          urlReads++;
          return urlReads === 1 ? NOWHERE : 'not a url';
        },
        commandTimeoutMs: 0,
      }),
    RangeError,
    /commandTimeoutMs/,
  );
  assert.equal(urlReads, 1);
  // Through a Proxy: every redis option read exactly once, no symbol-keyed read; the library then refuses the
  // options (a redis store with a path), so the reads all came before it.
  const reads = [];
  const options = new Proxy(
    { backend: 'redis', url: NOWHERE, namespace: 'ns', connectTimeoutMs: 100, commandTimeoutMs: 100n, path: '/tmp/x' },
    {
      get(t, k, r) {
        reads.push(k);
        return Reflect.get(t, k, r);
      },
    },
  );
  throwsArg(() => new SessionStore(options), InvalidArgumentError, /path is not available with the redis backend/);
  for (const key of ['backend', 'url', 'namespace', 'connectTimeoutMs', 'commandTimeoutMs']) {
    assert.equal(reads.filter((k) => k === key).length, 1, key);
  }
  assert.deepEqual(reads.filter((k) => typeof k === 'symbol'), []);
  // Objects standing for strings or numbers are refused without calling them.
  let called = 0;
  const url = { toString: () => (called++, NOWHERE), toJSON: () => (called++, NOWHERE) };
  throwsArg(() => new SessionStore({ backend: 'redis', url }), TypeError, /url must be a string/);
  throwsArg(
    () => new SessionStore({ backend: 'redis', url: NOWHERE, connectTimeoutMs: { valueOf: () => (called++, 5) } }),
    TypeError,
    /connectTimeoutMs/,
  );
  assert.equal(called, 0);
});

test('a redis store whose server is unreachable does not open: UnavailableError', () => {
  const started = Date.now();
  throwsUnavailable(() => new SessionStore({ backend: 'redis', url: NOWHERE, connectTimeoutMs: 500 }), 'open');
  assert.ok(Date.now() - started < 5_000, 'a refused connection fails within the connect timeout');
});

// --- a real round trip ---------------------------------------------------------------------------------------

test('two redis stores on one url and namespace share their sessions; a dead server is UnavailableError', async (t) => {
  let server = await redisOnFreePort();
  const stores = [];
  t.after(async () => {
    for (const s of stores) s.close();
    await server.stop();
  });
  const open = (options) => {
    const s = new SessionStore({ backend: 'redis', url: server.url, connectTimeoutMs: 1000, commandTimeoutMs: 2000n, ...options });
    stores.push(s);
    return s;
  };
  const namespace = `node-test-${process.pid}`;
  const writer = open({ namespace });
  const reader = open({ namespace, mode: 'agent' });
  const other = open({ namespace: `${namespace}-other` });
  const byDefault = open({}); // the default namespace, 'sessionstore'
  assert.equal(writer.mode, 'agent');

  // Written through one store, read and listed through the other.
  const stored = writer.upsert({
    session_id: 'r1',
    user_id: 'ava',
    agent_id: 'helper',
    session_data: { session_name: 'Lisbon trip' },
    memory: { runs: [{ input: 'hi', output: 'hello' }] },
  });
  assert.equal(stored.session_type, 'agent');
  assert.ok(stored.version > 0);
  writer.upsertMany([
    { session_id: 'r2', user_id: 'ben', agent_id: 'helper', created_at: stored.created_at + 1 },
    { session_id: 'r3', user_id: 'ava', agent_id: 'other', created_at: stored.created_at + 2 },
  ]);
  assert.deepEqual(reader.read('r1'), stored);
  assert.equal(reader.readRaw('r1', 'ava'), JSON.stringify(stored));
  assert.equal(reader.read('r1', 'ben'), null, 'another user\'s session');
  assert.equal(reader.read('absent'), null);
  assert.deepEqual(reader.getAllSessionIds().sort(), ['r1', 'r2', 'r3']);
  assert.deepEqual(reader.getAllSessionIds({ userId: 'ava' }).sort(), ['r1', 'r3']);
  assert.deepEqual(
    reader.getAllSessions({ entityId: 'helper' }).map((x) => x.session_id).sort(),
    ['r1', 'r2'],
  );
  assert.deepEqual(reader.getRecentSessions({ limit: 2 }).map((x) => x.session_id), ['r3', 'r2']);
  const found = reader.query({ sessionName: 'lisbon', fields: 'metadata' });
  assert.equal(found.total, 1);
  assert.equal(found.sessions[0].session_id, 'r1');

  // Writes through the reader are seen by the writer: an atomic append, a compare-and-set, a rename.
  const appended = reader.appendRuns('r1', [{ input: 'again', output: 'sure' }]);
  assert.equal(appended.memory.runs.length, 2);
  assert.deepEqual(writer.read('r1').memory.runs, appended.memory.runs);
  assert.throws(() => writer.upsertIf({ session_id: 'r1', user_id: 'ava' }, stored.version), { code: 'VERSION_MISMATCH' });
  writer.upsertIf({ ...appended, extra: 1 }, appended.version);
  assert.equal(reader.read('r1').extra, 1);
  assert.equal(reader.renameSession('r2', 'Renamed').session_data.session_name, 'Renamed');
  assert.equal(writer.read('r2').session_data.session_name, 'Renamed');
  // The feed and the export are the namespace's: the same through either store.
  const feed = reader.changes(0, { idsOnly: true });
  assert.deepEqual(feed, writer.changes(0, { idsOnly: true }));
  assert.ok(feed.changes.some((c) => c.op === 'upsert' && c.session_id === 'r3'));
  assert.deepEqual(Object.keys(reader.export()).sort(), ['r1', 'r2', 'r3']);
  // Another handle on a store through share(); deletes seen by the other store.
  const team = reader.share('team');
  stores.push(team);
  team.upsert({ session_id: 't1', team_id: 'crew' });
  assert.equal(writer.query({ sessionType: 'team' }).total, 1);
  assert.equal(writer.deleteSession('r3'), 1);
  assert.equal(reader.read('r3'), null);
  // Other namespaces on the same server see none of it.
  assert.deepEqual(other.getAllSessionIds(), []);
  assert.deepEqual(byDefault.getAllSessionIds(), []);
  other.upsert({ session_id: 'r1', agent_id: 'elsewhere' });
  assert.equal(reader.read('r1').agent_id, 'helper');

  // The server dies: every call on a store of it throws UnavailableError, and so does opening one.
  await server.stop();
  throwsUnavailable(() => reader.read('r1'), 'read');
  throwsUnavailable(() => reader.getAllSessionIds(), 'listing');
  throwsUnavailable(() => writer.upsert({ session_id: 'r4' }), 'upsert');
  throwsUnavailable(() => writer.changes(0), 'changes');
  throwsUnavailable(() => open({ namespace }), 'open');
  assert.equal(reader.closed, false, 'the store stays open');

  // A server back on the same port: the stores reconnect by themselves (this one is empty: nothing was saved).
  server = await startRedis(server.port);
  assert.equal(reader.read('r1'), null);
  writer.upsert({ session_id: 'back', agent_id: 'helper' });
  assert.equal(reader.read('back').agent_id, 'helper');
});

test('expiry on redis is the namespace\'s: a store with other settings is refused while it holds sessions', async (t) => {
  const server = await redisOnFreePort();
  const stores = [];
  t.after(async () => {
    for (const s of stores) s.close();
    await server.stop();
  });
  const namespace = `node-expiry-${process.pid}`;
  const store = new SessionStore({ backend: 'redis', url: server.url, namespace, idleExpiryS: 60, refreshOnRead: true });
  stores.push(store);
  store.upsert({ session_id: 's1', user_id: 'ava' });
  assert.equal(store.read('s1').session_id, 's1');
  const { bounds } = store.stats();
  assert.equal(bounds.idle_expiry_s, 60);
  assert.equal(bounds.refresh_on_read, true);
  throwsArg(
    () => stores.push(new SessionStore({ backend: 'redis', url: server.url, namespace, idleExpiryS: 30 })),
    InvalidArgumentError,
    /idle_expiry_s=60/,
  );
});
