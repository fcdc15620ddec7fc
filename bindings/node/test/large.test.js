'use strict';

// Large sessions (several MiB, up to the 32 MiB default limit) and UTF-8: lengths passed to C are bytes,
// not UTF-16 code units.

const test = require('node:test');
const assert = require('node:assert/strict');
const { SessionStore } = require('..');

const MiB = 1024 * 1024;

test('several-MiB sessions round trip (objects and raw)', () => {
  const s = new SessionStore();
  try {
    const memory = 'm'.repeat(8 * MiB);
    const stored = s.upsert({ session_id: 'big', user_id: 'u', memory, runs: [{ content: 'x'.repeat(MiB) }] });
    assert.equal(stored.memory.length, 8 * MiB);
    const read = s.read('big');
    assert.equal(read.memory, memory);
    assert.equal(read.runs[0].content.length, MiB);
    const raw = s.readRaw('big');
    assert.ok(raw.length > 9 * MiB);
    assert.equal(JSON.parse(raw).memory, memory);
    assert.equal(s.getRecentSessions({ userId: 'u' })[0].memory.length, 8 * MiB);
    assert.equal(s.export().big.memory.length, 8 * MiB);
    assert.ok(s.stats().bytes > 9 * MiB);

    // Raw bytes in.
    const buf = Buffer.from(JSON.stringify({ session_id: 'buf', blob: 'b'.repeat(5 * MiB) }));
    assert.equal(JSON.parse(s.upsertRaw(buf)).blob.length, 5 * MiB);
  } finally {
    s.close();
  }
});

test('multi-byte UTF-8 payloads: byte lengths, not UTF-16 units', () => {
  const s = new SessionStore();
  try {
    // 2-, 3- and 4-byte sequences (the emoji is a surrogate pair in JS: 2 units, 4 bytes).
    const text = 'é中😀'.repeat(300_000); // ~2.7 MiB of UTF-8, 1.2M UTF-16 units
    assert.notEqual(Buffer.byteLength(text), text.length);
    const stored = s.upsert({ session_id: 'ütf-8 ✓', user_id: 'ユーザー', memory: text });
    assert.equal(stored.memory, text);
    assert.equal(s.read('ütf-8 ✓', 'ユーザー').memory, text);
    assert.deepEqual(s.getAllSessionIds({ userId: 'ユーザー' }), ['ütf-8 ✓']);
    const raw = s.readRaw('ütf-8 ✓');
    assert.equal(JSON.parse(raw).memory, text);
    // Small ones, where a units/bytes mix-up would cut the JSON short.
    for (const word of ['é', '€', '😀', 'naïve café', '\u2028\u2029']) {
      const out = s.upsertRaw(`{"session_id":"w","memory":"${word}"}`);
      assert.equal(JSON.parse(out).memory, word);
    }
    assert.equal(s.renameSession('w', '名前 😀').session_data.session_name, '名前 😀');
    assert.equal(s.query({ sessionName: '名前' }).total, 1);
  } finally {
    s.close();
  }
});

test('the default max_session_bytes is 32 MiB', () => {
  const s = new SessionStore();
  try {
    // Just under the limit: accepted.
    const under = Buffer.from(`{"session_id":"under","memory":"${'u'.repeat(31 * MiB)}"}`);
    assert.equal(JSON.parse(s.upsertRaw(under)).session_id, 'under');
    assert.equal(s.readRaw('under').length > 31 * MiB, true);
    // Over the limit: TOO_LARGE, nothing stored.
    const over = Buffer.from(`{"session_id":"over","memory":"${'o'.repeat(33 * MiB)}"}`);
    assert.throws(() => s.upsertRaw(over), { code: 'TOO_LARGE', status: 6 });
    assert.equal(s.read('over'), null);
  } finally {
    s.close();
  }
  const bigger = new SessionStore({ maxSessionBytes: 40 * MiB });
  try {
    const over = `{"session_id":"ok","memory":"${'o'.repeat(33 * MiB)}"}`;
    assert.equal(bigger.upsertRaw(over).length > 33 * MiB, true);
  } finally {
    bigger.close();
  }
});

test('reads of every size go through the read buffer, its growth, or the allocating path', () => {
  // readRaw copies into a 64 KiB buffer per library, grows it up to 1 MiB, and reads larger sessions with
  // ss_read: sizes on each side of both limits, in an order that shrinks and grows, read back exactly.
  const s = new SessionStore();
  try {
    const KiB = 1024;
    const sizes = [1, 64 * KiB - 200, 64 * KiB + 10, 5, 700 * KiB, 3, MiB + 100, 2 * KiB, 200 * KiB];
    const sessions = sizes.map((n, i) => ({ session_id: `s${i}`, memory: 'é'.repeat(n >> 1) + 'x'.repeat(n & 1) }));
    const stored = sessions.map((session) => s.upsertRaw(JSON.stringify(session)));
    for (let round = 0; round < 2; round++) {
      for (let i = sizes.length - 1; i >= 0; i--) {
        const raw = s.readRaw(`s${i}`);
        assert.equal(raw, stored[i], `session ${i} (${sizes[i]} bytes of memory), round ${round}`);
        assert.equal(s.read(`s${i}`).memory, sessions[i].memory);
      }
    }
    assert.equal(s.readRaw('absent'), null);
    const owned = s.upsertRaw(JSON.stringify({ session_id: 'owned', user_id: 'u1', memory: 'o'.repeat(300 * 1024) }));
    assert.equal(s.readRaw('owned', 'u2'), null, "another user's session");
    assert.equal(s.readRaw('owned', 'u1'), owned);
  } finally {
    s.close();
  }
});
