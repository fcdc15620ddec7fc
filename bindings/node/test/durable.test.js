'use strict';

// Durable stores: the path, sync, syncIntervalMs, compactFactor and compactMinBytes options; data written, closed
// and read back from the same directory (in order); one open store per directory (LOCKED); sync(); the durability
// member of stats(); and the I/O statuses as errors.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const ss = require('..');
const { SessionStore, SessionStoreError, InvalidArgumentError, LockedError, IoError, CorruptError, PoisonedError } = ss;

/** A fresh temporary directory for one test, removed when it ends. */
function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-node-durable-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Asserts that fn throws the SessionStoreError of this code, with its subclass and status. */
function throwsCode(fn, code, Cls, pattern) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof SessionStoreError, e && e.stack);
    assert.ok(e instanceof Cls, `expected ${Cls.name}, got ${e.name}`);
    assert.equal(e.name, Cls.name);
    assert.equal(e.code, code, e.message);
    assert.equal(e.status, ss.Status[code]);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

test('the durable statuses have their numbers, codes and classes', () => {
  assert.deepEqual(
    [ss.Status.IO, ss.Status.LOCKED, ss.Status.CORRUPT, ss.Status.POISONED],
    [9, 10, 11, 12],
  );
  for (const Cls of [IoError, LockedError, CorruptError, PoisonedError]) {
    assert.ok(new Cls('m', 'X', 0) instanceof SessionStoreError);
  }
});

test('sessions written to a durable store are read back, in order, after closing and reopening it', (t) => {
  const dir = path.join(tempDir(t), 'store'); // created by the open
  const s = new SessionStore({ path: dir });
  const team = s.share('team');
  for (const id of ['s3', 's1', 's2', 'gone']) {
    s.upsert({ session_id: id, user_id: 'ava', agent_id: 'helper', memory: { runs: [`hello ${id}`] } });
  }
  s.upsert({ session_id: 's1', user_id: 'ava', memory: { runs: ['hello s1', 'again'] } });
  s.renameSession('s2', 'Second');
  assert.equal(s.deleteSession('gone'), 1);
  s.upsertMany([{ session_id: 'b1' }, { session_id: 'b2' }]);
  team.upsert({ session_id: 't1', team_id: 'crew' });
  const before = s.readRaw('s1', 'ava');
  s.close();
  team.close();

  const again = new SessionStore({ path: dir });
  try {
    assert.deepEqual(again.getAllSessionIds(), ['s3', 's1', 's2', 'b1', 'b2']);
    assert.equal(again.readRaw('s1', 'ava'), before, 'stored bytes kept');
    assert.deepEqual(again.read('s1').memory.runs, ['hello s1', 'again']);
    assert.equal(again.read('s2').session_data.session_name, 'Second');
    assert.equal(again.read('gone'), null);
    const againTeam = again.share('team');
    assert.deepEqual(againTeam.getAllSessionIds(), ['t1']);
    againTeam.close();
    const { recovery } = again.stats().durability;
    assert.ok(recovery.journal_records + recovery.snapshot_records > 0, JSON.stringify(recovery));
  } finally {
    again.close();
  }
});

test('a directory is owned by one open store, all its handles, until the last one closes: LOCKED', (t) => {
  const dir = tempDir(t);
  const first = new SessionStore({ path: dir });
  throwsCode(() => new SessionStore({ path: dir }), 'LOCKED', LockedError, /in use/);
  const shared = first.share();
  first.close();
  throwsCode(() => new SessionStore({ path: dir, mode: 'team' }), 'LOCKED', LockedError);
  shared.close();
  const third = new SessionStore({ path: dir });
  third.close();
});

test('sync() succeeds; stats().durability names the directory and the sync policy, null in memory', (t) => {
  for (const sync of [undefined, 'always', 'interval', 'os']) {
    const dir = tempDir(t);
    const s = new SessionStore({ path: dir, sync, mode: 'workflow_v2' });
    try {
      s.upsert({ session_id: 'w1', runs: [] });
      assert.equal(s.sync(), undefined);
      const st = s.stats();
      assert.equal(st.mode, 'workflow_v2');
      assert.equal(st.sessions, 1);
      const d = st.durability;
      assert.ok(d !== null && typeof d === 'object', JSON.stringify(st));
      assert.equal(d.path, dir);
      assert.equal(d.sync, sync || 'always');
      assert.equal(d.poisoned, false);
      assert.equal(d.last_compaction_error, null);
      assert.ok(d.journal_bytes > 0);
      assert.equal(JSON.parse(s.statsRaw()).durability.path, dir);
    } finally {
      s.close();
    }
  }
  const mem = new SessionStore();
  try {
    assert.equal(mem.sync(), undefined, 'a no-op in memory');
    assert.equal(mem.stats().durability, null);
  } finally {
    mem.close();
  }
  // The other options reach the library.
  const s = new SessionStore({
    path: tempDir(t),
    sync: 'interval',
    syncIntervalMs: 20,
    compactFactor: 3n,
    compactMinBytes: 0,
  });
  try {
    s.upsert({ session_id: 'a' });
    assert.equal(s.stats().durability.sync, 'interval');
  } finally {
    s.close();
  }
});

test('bad durability options are INVALID_ARGUMENT', (t) => {
  const dir = tempDir(t);
  throwsCode(() => new SessionStore({ path: dir, sync: 'sometimes' }), 'INVALID_ARGUMENT', InvalidArgumentError, /sometimes/);
  throwsCode(() => new SessionStore({ path: '' }), 'INVALID_ARGUMENT', InvalidArgumentError, /path/);
  for (const [options, Kind] of [
    [{ path: 42 }, TypeError],
    [{ path: dir, sync: 1 }, TypeError],
    [{ path: dir, syncIntervalMs: 0 }, RangeError],
    [{ path: dir, syncIntervalMs: 1.5 }, RangeError],
    [{ path: dir, compactFactor: 0 }, RangeError],
    [{ path: dir, compactMinBytes: -1 }, RangeError],
    [{ path: dir, compactMinBytes: '1' }, TypeError],
    [{ path: 'a\0b' }, InvalidArgumentError],
    [{ path: dir, syncInterval: 5 }, InvalidArgumentError], // a misspelt key
  ]) {
    assert.throws(
      () => new SessionStore(options),
      (e) => e instanceof Kind && e instanceof InvalidArgumentError && e.code === 'INVALID_ARGUMENT',
      JSON.stringify(options),
    );
  }
  // Nothing was left open by the failures: the directory can be opened.
  new SessionStore({ path: dir }).close();
});

test('IO and CORRUPT from real opens; POISONED maps to its class', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'x');
  throwsCode(() => new SessionStore({ path: file }), 'IO', IoError);
  const damaged = path.join(dir, 'damaged');
  fs.mkdirSync(damaged);
  fs.writeFileSync(path.join(damaged, 'journal-0000000000000000.log'), 'garbage '.repeat(8));
  throwsCode(() => new SessionStore({ path: damaged }), 'CORRUPT', CorruptError, /journal-/);
  // A poisoned store needs a failing fsync; its status's class comes from the same table.
  const entry = ss._internal.STATUS_TABLE.find((e) => e.code === 'POISONED');
  assert.equal(entry.Error, PoisonedError);
  assert.equal(entry.text, 'poisoned');
});
