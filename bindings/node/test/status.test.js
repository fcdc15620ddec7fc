'use strict';

// The status table (STATUS_TABLE in index.js, the one place the numbers are written) against the C library:
// checkStatusTable() runs on every library loaded; here with the real library, with fake ones that disagree,
// and through a load whose ss_status_str reports one more status than the binding knows.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const koffi = require('koffi');
const ss = require('..');

const { STATUS_TABLE, checkStatusTable } = ss._internal;
const PKG = path.resolve(__dirname, '..');
const HEADER = path.resolve(PKG, '..', '..', 'include', 'sessionstore.h');
const CLOSED_NUMBER = 65536; // SS_BINDING_STATUS_CLOSED (include/sessionstore.h)

/** ss_status_str of the built library, bound on its own. */
function realStatusStr() {
  const fn = koffi.load(ss.DEFAULT_LIBRARY_PATH).func('const char *ss_status_str(uint32_t status)');
  return (n) => fn(n);
}

/** A fake ss_status_str: the real one, with some numbers overridden. */
function fakeStatusStr(overrides) {
  const real = realStatusStr();
  return (n) => (Object.hasOwn(overrides, n) ? overrides[n] : real(n));
}

test('Status, the error classes and the codes all come from the one table', () => {
  assert.deepEqual(
    Object.entries(ss.Status),
    STATUS_TABLE.map((e) => [e.code, e.status]),
  );
  assert.ok(Object.isFrozen(ss.Status) && Object.isFrozen(STATUS_TABLE));
  assert.equal(new Set(STATUS_TABLE.map((e) => e.status)).size, STATUS_TABLE.length, 'numbers are unique');
  for (const e of STATUS_TABLE) {
    if (e.code === 'OK') continue;
    assert.equal(e.Error, ss[e.Error.name], e.code);
    assert.equal(e.Error.name, e.code.toLowerCase().replace(/(^|_)(\w)/g, (_, __, c) => c.toUpperCase()) + 'Error');
  }
  assert.equal(ss.Status.CLOSED, CLOSED_NUMBER);
  assert.deepEqual(
    STATUS_TABLE.filter((e) => e.bindingOnly).map((e) => e.code),
    ['CLOSED'],
  );
});

test('the table matches the built library: every status, its text, and "closed" for CLOSED', () => {
  const statusStr = realStatusStr();
  assert.equal(checkStatusTable(STATUS_TABLE, statusStr), STATUS_TABLE.length - 1);
  assert.equal(statusStr(ss.Status.CLOSED), 'closed');
  assert.equal(statusStr(STATUS_TABLE.length - 1), 'unknown status');
  // The newest status (0.4, the Redis backend): its number, text and class.
  const unavailable = STATUS_TABLE.find((e) => e.code === 'UNAVAILABLE');
  assert.deepEqual({ ...unavailable }, { status: 16, code: 'UNAVAILABLE', text: 'unavailable', Error: ss.UnavailableError });
  assert.equal(statusStr(ss.Status.UNAVAILABLE), 'unavailable');
});

test('the table matches the header (ss_status enum and SS_BINDING_STATUS_CLOSED)', (t) => {
  if (!fs.existsSync(HEADER)) return t.skip('no include/sessionstore.h (not in the repository)');
  const h = fs.readFileSync(HEADER, 'utf8');
  const fromHeader = {};
  for (const [, name, n] of h.matchAll(/^\s*SS_STATUS_(\w+) = (\d+),/gm)) fromHeader[name] = Number(n);
  fromHeader.CLOSED = Number(/#define SS_BINDING_STATUS_CLOSED (\d+)/.exec(h)[1]);
  assert.deepEqual(fromHeader, { ...ss.Status });
});

test('a library with one more status than the binding knows is refused, naming it', () => {
  const extra = STATUS_TABLE.length - 1; // the first number after the library's statuses
  assert.throws(
    () => checkStatusTable(STATUS_TABLE, fakeStatusStr({ [extra]: 'busy' })),
    (e) => {
      assert.match(e.message, /statuses do not match this binding's \(STATUS_TABLE in index\.js\)/);
      assert.ok(e.message.includes(`status ${extra} ("busy") of the library is missing from this binding`), e.message);
      return true;
    },
  );
});

test('other mismatches are refused too: a changed text, a missing status, CLOSED not "closed"', () => {
  const { NOT_FOUND, INTERNAL, CLOSED } = ss.Status;
  const cases = [
    [{ [NOT_FOUND]: 'absent' }, `status ${NOT_FOUND} is "absent" in the library but NOT_FOUND ("not found")`],
    [{ [INTERNAL]: 'unknown status' }, `INTERNAL (${INTERNAL}) is not a status of the library`],
    [{ [CLOSED]: 'unknown status' }, `binding status CLOSED (${CLOSED}) "unknown status", expected "closed"`],
  ];
  for (const [overrides, expected] of cases) {
    assert.throws(
      () => checkStatusTable(STATUS_TABLE, fakeStatusStr(overrides)),
      (e) => e.message.includes(expected) || assert.fail(e.message),
    );
  }
  // A library naming every number (no "unknown status") stops at the binding-only statuses.
  assert.throws(
    () => checkStatusTable(STATUS_TABLE, (n) => `status ${n}`),
    (e) => e.message.includes(`names every status up to ${CLOSED_NUMBER}`) || assert.fail(e.message),
  );
});

test('the check runs when the library loads: an extra status fails the load with a clear error', () => {
  // A copy of the library (a file the parent process has not loaded), whose ss_status_str is wrapped to
  // report one more status.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-node-'));
  const copy = path.join(dir, 'libsessionstore.so');
  fs.copyFileSync(ss.DEFAULT_LIBRARY_PATH, copy);
  const extra = STATUS_TABLE.length - 1;
  const code = `
    const koffi = require('koffi');
    const load = koffi.load;
    koffi.load = (file) => {
      const so = load(file);
      return {
        func(proto) {
          const fn = so.func(proto);
          return proto.includes('ss_status_str') ? (n) => (n === ${extra} ? 'busy' : fn(n)) : fn;
        },
        unload: () => so.unload(),
      };
    };
    const ss = require('.');
    for (const f of [() => new ss.SessionStore({ libraryPath: ${JSON.stringify(copy)} }), () => ss.version()]) {
      try { f(); console.log('loaded'); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
    }`;
  try {
    const env = { ...process.env };
    delete env.SESSIONSTORE_LIB;
    const r = spawnSync(process.execPath, ['-e', code], { cwd: PKG, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2, r.stdout);
    for (const line of lines) {
      const err = JSON.parse(line);
      assert.equal(err.name, 'InternalError');
      assert.equal(err.code, 'INTERNAL');
      assert.match(err.message, /cannot load the native library/);
      const expected = `status ${extra} ("busy") of the library is missing from this binding`;
      assert.ok(err.message.includes(expected), err.message);
    }
    assert.ok(JSON.parse(lines[0]).message.includes(copy), lines[0]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
