'use strict';

// Finding the library (libraryPath option, $SESSIONSTORE_LIB, bundled prebuild, build output), load failures,
// the ESM entry.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const ss = require('..');

const PKG = path.resolve(__dirname, '..');
const BUILT = ss.DEFAULT_LIBRARY_PATH;

function runNode(code, { env = {}, cwd = PKG } = {}) {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return spawnSync(process.execPath, ['-e', code], { cwd, env: childEnv, encoding: 'utf8' });
}

test('the default path is the build output next to the package', () => {
  assert.equal(BUILT, path.resolve(PKG, '..', '..', 'target', 'release', 'libsessionstore.so'));
  assert.ok(fs.existsSync(BUILT), 'run `make -C ../.. lib` first');
  const s = new ss.SessionStore();
  try {
    if (!process.env.SESSIONSTORE_LIB) assert.equal(s.libraryPath, BUILT);
  } finally {
    s.close();
  }
});

test('an explicit libraryPath is used first', () => {
  const s = new ss.SessionStore({ libraryPath: BUILT });
  try {
    assert.equal(s.libraryPath, BUILT);
    assert.equal(ss.version({ libraryPath: BUILT }), '0.4.0');
  } finally {
    s.close();
  }
  assert.throws(() => new ss.SessionStore({ libraryPath: 42 }), { code: 'INVALID_ARGUMENT' });
});

test('SESSIONSTORE_LIB is used when no libraryPath is given', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-node-'));
  const copy = path.join(dir, 'libsessionstore-copy.so');
  fs.copyFileSync(BUILT, copy);
  try {
    const r = runNode(
      "const {SessionStore}=require('.'); const s=new SessionStore(); console.log(s.libraryPath); s.close();",
      { env: { SESSIONSTORE_LIB: copy } },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), copy);
    // libraryPath still wins over the environment variable.
    const r2 = runNode(
      `const {SessionStore}=require('.'); const s=new SessionStore({libraryPath:${JSON.stringify(BUILT)}}); console.log(s.libraryPath); s.close();`,
      { env: { SESSIONSTORE_LIB: copy } },
    );
    assert.equal(r2.status, 0, r2.stderr);
    assert.equal(r2.stdout.trim(), BUILT);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that exists but is not a library is an INTERNAL error naming it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-node-'));
  const bogus = path.join(dir, 'not-a-library.so');
  fs.writeFileSync(bogus, 'this is not an ELF file');
  try {
    let caught;
    try {
      new ss.SessionStore({ libraryPath: bogus });
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof ss.SessionStoreError);
    assert.ok(caught instanceof ss.InternalError);
    assert.equal(caught.code, 'INTERNAL');
    assert.equal(caught.status, 7);
    assert.ok(caught.message.includes(bogus), caught.message);
    assert.match(caught.message, /cannot load/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** The error thrown by fn, which must be an INTERNAL SessionStoreError. */
function loadError(fn) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ss.InternalError, `expected an InternalError, got ${caught}`);
  assert.equal(caught.code, 'INTERNAL');
  return caught;
}

test('an explicit libraryPath that does not exist is an error naming it, never another copy', () => {
  const missing = path.join(os.tmpdir(), 'ss-node-missing', 'libsessionstore.so');
  for (const fn of [() => new ss.SessionStore({ libraryPath: missing }), () => ss.version({ libraryPath: missing })]) {
    const e = loadError(fn);
    assert.ok(e.message.includes(`${missing} (libraryPath option): not found`), e.message);
    assert.match(e.message, /cannot find the native library/);
  }
  // Not even a valid $SESSIONSTORE_LIB is loaded instead.
  const r = runNode(
    `const {SessionStore}=require('.');
     try { new SessionStore({libraryPath:${JSON.stringify(missing)}}); console.log('loaded'); }
     catch (e) { console.log(e.code + ' ' + e.message.split('\\n')[1]); }`,
    { env: { SESSIONSTORE_LIB: BUILT } },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `INTERNAL   ${missing} (libraryPath option): not found`);
});

test('a SESSIONSTORE_LIB that does not exist is an error naming it, never the build output', () => {
  const saved = process.env.SESSIONSTORE_LIB;
  const missing = '/nonexistent/from-env/libsessionstore.so';
  process.env.SESSIONSTORE_LIB = missing;
  try {
    for (const fn of [() => new ss.SessionStore(), () => ss.version()]) {
      const e = loadError(fn);
      assert.ok(e.message.includes(`${missing} (SESSIONSTORE_LIB): not found`), e.message);
      assert.ok(e.message.includes(`${BUILT} (build output): not tried`), e.message);
    }
    // An explicit libraryPath still comes first.
    const s = new ss.SessionStore({ libraryPath: BUILT });
    s.close();
  } finally {
    if (saved === undefined) delete process.env.SESSIONSTORE_LIB;
    else process.env.SESSIONSTORE_LIB = saved;
  }
});

test('a libraryPath that exists but is a directory is an error naming it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-node-'));
  try {
    const e = loadError(() => new ss.SessionStore({ libraryPath: dir }));
    assert.ok(e.message.includes(`${dir} (libraryPath option)`), e.message);
    assert.match(e.message, /cannot load/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('when nothing is found the error lists every place tried, in order', () => {
  // A copy of the package where ../../target/release does not exist.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-node-'));
  const pkg = path.join(dir, 'a', 'b');
  fs.mkdirSync(pkg, { recursive: true });
  for (const f of ['index.js', 'library-paths.js', 'package.json']) fs.copyFileSync(path.join(PKG, f), path.join(pkg, f));
  try {
    const code = `
      const ss = require(${JSON.stringify(pkg)});
      try { new ss.SessionStore({ libraryPath: '/nonexistent/explicit.so' }); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, status: e.status, message: e.message })); }`;
    const r = runNode(code, {
      env: { SESSIONSTORE_LIB: '/nonexistent/from-env.so', NODE_PATH: path.join(PKG, 'node_modules') },
      cwd: dir,
    });
    assert.equal(r.status, 0, r.stderr);
    const err = JSON.parse(r.stdout);
    assert.equal(err.code, 'INTERNAL');
    assert.equal(err.name, 'InternalError');
    const lines = err.message.split('\n');
    const iExplicit = lines.findIndex((l) => l.includes('/nonexistent/explicit.so') && l.includes('libraryPath'));
    const iEnv = lines.findIndex((l) => l.includes('/nonexistent/from-env.so') && l.includes('SESSIONSTORE_LIB'));
    const iBuilt = lines.findIndex(
      (l) => l.includes(path.join(dir, 'target', 'release', 'libsessionstore.so')) && l.includes('build output'),
    );
    assert.ok(iExplicit > 0 && iEnv > iExplicit && iBuilt > iEnv, err.message);
    assert.match(err.message, /cannot find the native library/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundled prebuild sits in prebuilds/<platform>-<arch>/ of the package', () => {
  assert.equal(
    ss._internal.PREBUILD_LIBRARY_PATH,
    path.join(PKG, 'prebuilds', `${process.platform}-${process.arch}`, 'libsessionstore.so'),
  );
});

test('a bundled prebuild comes after libraryPath and SESSIONSTORE_LIB, before the build output; no fallback', () => {
  // A copy of the package at <dir>/a/b, with its own prebuilds/ and a build output at <dir>/target/release.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-node-'));
  const pkg = path.join(dir, 'a', 'b');
  const prebuild = path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, 'libsessionstore.so');
  const built = path.join(dir, 'target', 'release', 'libsessionstore.so');
  fs.mkdirSync(path.dirname(prebuild), { recursive: true });
  fs.mkdirSync(path.dirname(built), { recursive: true });
  for (const f of ['index.js', 'library-paths.js', 'package.json']) fs.copyFileSync(path.join(PKG, f), path.join(pkg, f));
  fs.copyFileSync(BUILT, prebuild);
  fs.copyFileSync(BUILT, built);
  const load = (env = {}) => {
    const code = `
      const ss = require(${JSON.stringify(pkg)});
      try {
        const s = new ss.SessionStore();
        console.log(JSON.stringify({ file: s.libraryPath, v: ss.version() }));
        s.close();
      } catch (e) {
        console.log(JSON.stringify({ code: e.code, message: e.message }));
      }`;
    const r = runNode(code, {
      env: { SESSIONSTORE_LIB: undefined, NODE_PATH: path.join(PKG, 'node_modules'), ...env },
      cwd: dir,
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  try {
    assert.deepEqual(load(), { file: prebuild, v: ss.version() });
    assert.equal(load({ SESSIONSTORE_LIB: BUILT }).file, BUILT);
    // A prebuild that cannot be loaded is an error naming it; the build output is not tried instead.
    fs.writeFileSync(prebuild, 'not a library');
    const bad = load();
    assert.equal(bad.code, 'INTERNAL');
    assert.ok(bad.message.includes(`${prebuild} (bundled prebuild): `), bad.message);
    assert.match(bad.message, /cannot load/);
    assert.ok(bad.message.includes(`${built} (build output): not tried`), bad.message);
    // No prebuild: the build output.
    fs.rmSync(path.join(pkg, 'prebuilds'), { recursive: true });
    assert.equal(load().file, built);
    // Neither: both are listed, in order.
    fs.rmSync(built);
    const none = load();
    assert.equal(none.code, 'INTERNAL');
    const lines = none.message.split('\n');
    assert.equal(lines[1], `  ${prebuild} (bundled prebuild): not found`);
    assert.equal(lines[2], `  ${built} (build output): not found`);
    assert.match(none.message, /cannot find the native library/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the ESM entry exports the same objects', async () => {
  const esm = await import('../index.mjs');
  assert.equal(esm.SessionStore, ss.SessionStore);
  assert.equal(esm.SessionStoreError, ss.SessionStoreError);
  assert.equal(esm.version, ss.version);
  assert.equal(esm.default, ss);
  for (const name of Object.keys(ss)) {
    if (name === 'default') continue;
    assert.ok(name in esm, `ESM entry misses ${name}`);
  }
  const s = new esm.SessionStore({ mode: 'team' });
  try {
    assert.equal(s.upsert({ session_id: 'e' }).session_type, 'team');
  } finally {
    s.close();
  }
  // Through the package name and its exports map, too.
  const r = runNode("import('sessionstore').then(m => console.log(typeof m.SessionStore, typeof m.default.version))", {
    cwd: PKG,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function function');
});
