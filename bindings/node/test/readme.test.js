'use strict';

// The README's snippets are the files that run and type-check: keep them identical.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

test('the README JavaScript example is examples/agent_session.js and runs as written', () => {
  const js = /```js\n([\s\S]*?)```/.exec(readme)[1];
  assert.equal(js, fs.readFileSync(path.join(root, 'examples', 'agent_session.js'), 'utf8'));
  const out = execFileSync(process.execPath, ['examples/agent_session.js'], { cwd: root, encoding: 'utf8' });
  assert.match(out, /renamed through the dashboard, seen by the agent: "Lisbon \+ Sintra"/);
});

test('the README TypeScript snippet is types-test/readme.mts (type-checked by make test)', () => {
  const ts = /```ts\n([\s\S]*?)```/.exec(readme)[1];
  const file = fs.readFileSync(path.join(root, 'types-test', 'readme.mts'), 'utf8');
  assert.equal(file.slice(file.indexOf('\n') + 1), ts);
});

test('every example runs', () => {
  for (const f of fs.readdirSync(path.join(root, 'examples')).filter((n) => n.endsWith('.js'))) {
    execFileSync(process.execPath, [path.join('examples', f)], { cwd: root, encoding: 'utf8' });
  }
});
