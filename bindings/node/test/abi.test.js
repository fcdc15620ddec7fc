'use strict';

// The koffi prototypes in index.js against include/sessionstore.h: same functions, same number of parameters,
// and the same kind of value in each position (a pointer, a size_t, an int64_t, a uint64_t, a uint32_t). A parameter
// added to a C function and not to its koffi declaration would shift every later argument (an out-pointer
// read as a length, or C writing through a pointer koffi never passed): memory-unsafe, so it fails here first.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const PKG = path.resolve(__dirname, '..');
const HEADER = path.resolve(PKG, '..', '..', 'include', 'sessionstore.h');

/** The kind of a C parameter or return type, as far as the calling convention cares. */
function kind(decl) {
  const d = decl.replace(/\b_Out_\b|\bconst\b/g, ' ').replace(/\s+/g, ' ').trim();
  if (d === 'void') return 'void';
  if (d.includes('*') || /^ss_store_ptr\b/.test(d) || /^ss_sink\b/.test(d)) return 'pointer';
  if (/^size_t\b/.test(d)) return 'size_t';
  if (/^int64_t\b/.test(d)) return 'int64_t';
  if (/^uint64_t\b/.test(d)) return 'uint64_t';
  if (/^(uint32_t|ss_status)\b/.test(d)) return 'uint32_t';
  throw new Error(`unknown C type in "${decl}"`);
}

function signature(ret, params) {
  const list = params.trim() === 'void' ? [] : params.split(',').map(kind);
  return { ret: kind(ret), params: list };
}

function headerFunctions(text) {
  const out = new Map();
  const re = /^((?:const )?[a-z_0-9]+ \*?)(ss_\w+)\(([^)]*)\);/gm;
  for (const [, ret, name, params] of text.matchAll(re)) out.set(name, signature(ret, params));
  return out;
}

function bindingFunctions(text) {
  const out = new Map();
  for (const [, proto] of text.matchAll(/\bfn\('([^']*)'\)/g)) {
    const m = /^(.*?)\b(ss_\w+)\((.*)\)$/.exec(proto);
    assert.ok(m, `cannot read the koffi prototype "${proto}"`);
    out.set(m[2], signature(m[1], m[3]));
  }
  return out;
}

test('every koffi declaration matches its C prototype in the header', (t) => {
  if (!fs.existsSync(HEADER)) return t.skip('no include/sessionstore.h (not in the repository)');
  const header = headerFunctions(fs.readFileSync(HEADER, 'utf8'));
  const binding = bindingFunctions(fs.readFileSync(path.join(PKG, 'index.js'), 'utf8'));
  assert.ok(header.size >= 20, `read ${header.size} functions from the header`);
  assert.ok(binding.size >= 20, `read ${binding.size} declarations from index.js`);
  for (const [name, sig] of binding) {
    assert.ok(header.has(name), `${name} is declared in index.js but not in the header`);
    assert.deepEqual(sig, header.get(name), `${name}: index.js and include/sessionstore.h disagree`);
  }
  // Every function of the header is bound, but ss_read_with (its sink would be a callback into JavaScript).
  const unbound = [...header.keys()].filter((name) => !binding.has(name));
  assert.deepEqual(unbound, ['ss_read_with']);
  // The functions whose C signature gained user_id in 0.2 take it where the header says.
  assert.deepEqual(header.get('ss_rename_session').params.length, 7);
  assert.deepEqual(header.get('ss_delete_session').params.length, 5);
  assert.deepEqual(header.get('ss_delete_sessions').params.length, 6);
  // 0.3: the uint64_t expected versions and change numbers sit where the header says, not in a size_t's place.
  const P = 'pointer';
  assert.deepEqual(binding.get('ss_upsert_if').params, [P, P, 'size_t', 'uint64_t', P, P, P]);
  assert.deepEqual(binding.get('ss_delete_session_if').params, [P, P, P, 'uint64_t', P, P]);
  assert.deepEqual(binding.get('ss_changes').params.slice(0, 3), ['pointer', 'uint64_t', 'size_t']);
  assert.equal(binding.get('ss_export_with_seq').params.length, 5);
});
