'use strict';

// The README's snippets are the files that run and type-check: keep them identical.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

test('the README JavaScript example is examples/agent_session.js and runs as written', () => {
  const js = /```js\n([\s\S]*?)```/.exec(readme)[1];
  assert.equal(js, fs.readFileSync(path.join(root, 'examples', 'agent_session.js'), 'utf8'));
  const out = execFileSync(process.execPath, ['examples/agent_session.js'], { cwd: root, encoding: 'utf8' });
  assert.match(out, /renamed through the dashboard, seen by the agent: "Lisbon \+ Sintra"/);
});

test('the README compare-and-set and append snippet is part of examples/versions_and_feed.js (which runs)', () => {
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  const snippet = blocks.find((b) => b.includes('upsertIf'));
  assert.ok(snippet, 'a ```js block with upsertIf');
  assert.ok(snippet.includes('appendRuns'));
  const example = fs.readFileSync(path.join(root, 'examples', 'versions_and_feed.js'), 'utf8');
  assert.ok(example.includes(snippet), 'the snippet is verbatim in the example');
  const out = execFileSync(process.execPath, ['examples/versions_and_feed.js'], { cwd: root, encoding: 'utf8' });
  assert.match(out, /^appended: 1 run\(s\), version 2$/m);
  assert.match(out, /^tagged: travel$/m);
  assert.match(out, /^mirror at change 6: chat-7, named "Lisbon"$/m);
  // The follower saved its number with the store's identity, and noticed the store made anew.
  assert.match(out, /^follower: loaded an export \(another store: [0-9a-f]{32}, not [0-9a-f]{32}\)$/m);
  assert.match(out, /^mirror of the store made anew at change 8: chat-0, chat-1, chat-2$/m);
  assert.equal(out.match(/loaded an export/g).length, 2, out);
});

test('the README bounded-memory snippet is part of examples/bounded_memory.js, and runs on its own', () => {
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  const snippet = blocks.find((b) => b.includes('maxSessions'));
  assert.ok(snippet, 'a ```js block with maxSessions');
  assert.ok(snippet.includes('FullError'));
  const example = fs.readFileSync(path.join(root, 'examples', 'bounded_memory.js'), 'utf8');
  assert.ok(example.includes(snippet), 'the snippet is verbatim in the example');
  // The example waits for an idle session to expire (make demo runs it); its capacity and quota parts do not.
  const code =
    `const { SessionStore, FullError } = require('sessionstore');\n${snippet}` + 'cache.close();\nquota.close();\n';
  const out = execFileSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' });
  assert.match(out, /^sessions after writing a, b, c, a, d: a, c, d$/m);
  assert.match(out, /^feed: evict b$/m);
  assert.match(out, /^bounded store bounds: \{"sessions":3,.*"max_sessions":3,.*"evicted":1\}$/m);
  assert.match(out, /^refused: user "ava" would hold 2 sessions/m);
  assert.match(out, /^sessions with a quota of 1 per user: ava-1, ben-1$/m);
});

test('the README TypeScript snippet is types-test/readme.mts (type-checked by make test)', () => {
  const ts = /```ts\n([\s\S]*?)```/.exec(readme)[1];
  const file = fs.readFileSync(path.join(root, 'types-test', 'readme.mts'), 'utf8');
  assert.equal(file.slice(file.indexOf('\n') + 1), ts);
});

// durable_session.js is run by the next test, on a temporary directory (by default it keeps its store in the
// system's temporary directory, across runs). bounded_memory.js waits about 2 s for a session to expire, and no
// test here waits that long (the suite tests expiry through old timestamps, test/bounds.test.js): `make demo` runs
// it (it checks what it shows and exits 1 otherwise); here it is only compiled.
const WAITING_EXAMPLES = ['bounded_memory.js'];
test('every example runs', () => {
  for (const f of fs.readdirSync(path.join(root, 'examples')).filter((n) => n.endsWith('.js'))) {
    if (f === 'durable_session.js') continue;
    if (WAITING_EXAMPLES.includes(f)) {
      execFileSync(process.execPath, ['--check', path.join('examples', f)], { cwd: root, encoding: 'utf8' });
      continue;
    }
    execFileSync(process.execPath, [path.join('examples', f)], { cwd: root, encoding: 'utf8' });
  }
});

test('examples/durable_session.js run twice on one directory: the second run continues the first', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-node-example-'));
  try {
    const run = () =>
      execFileSync(process.execPath, [path.join('examples', 'durable_session.js'), path.join(dir, 'chat')], {
        cwd: root,
        encoding: 'utf8',
      });
    const first = run();
    assert.match(first, /^new session chat-42/m);
    assert.match(first, /^runs so far: 1$/m);
    const second = run();
    assert.match(second, /^continuing session chat-42/m);
    assert.match(second, /\(history: 1 earlier runs\)/);
    assert.match(second, /^runs so far: 2$/m);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
