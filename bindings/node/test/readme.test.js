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

test('the README TypeScript snippet is types-test/readme.mts (type-checked by make test)', () => {
  const ts = /```ts\n([\s\S]*?)```/.exec(readme)[1];
  const file = fs.readFileSync(path.join(root, 'types-test', 'readme.mts'), 'utf8');
  assert.equal(file.slice(file.indexOf('\n') + 1), ts);
});

// durable_session.js is run by the next test, on a temporary directory (by default it keeps its store in the
// system's temporary directory, across runs).
test('every example runs', () => {
  for (const f of fs.readdirSync(path.join(root, 'examples')).filter((n) => n.endsWith('.js'))) {
    if (f === 'durable_session.js') continue;
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
