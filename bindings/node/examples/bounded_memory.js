// Bounded memory: an idle session expiring, a capacity bound evicting the least recently written session, and a
// per-user quota refusing a write, with what stats().bounds and the change feed say about each.
// Run: node examples/bounded_memory.js (it waits about 2 seconds for the session to expire). It exits with status 1
// if the store does not behave as described.
const { SessionStore, FullError } = require('sessionstore');

function check(ok, message) {
  if (!ok) {
    console.error(`FAIL: ${message}`);
    process.exit(1);
  }
}

/** Blocks for ms milliseconds (a synchronous sleep keeps the example in order, top to bottom). */
function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// 1. Idle expiry: a session not written for idleExpiryS seconds is gone: read returns null, listings, queries and
// exports leave it out, and the store reclaims its memory within about a second.
const chats = new SessionStore({ idleExpiryS: 1 });
chats.upsert({ session_id: 'chat-1', user_id: 'ava', memory: { runs: [{ input: 'hi', output: 'hello' }] } });
console.log(`read right away: ${chats.read('chat-1') !== null ? 'found' : 'not found'}`);
sleep(2200);
const later = chats.read('chat-1');
console.log(`read after 2.2 s idle: ${later !== null ? 'found' : 'not found'}`);
check(later === null && chats.getAllSessionIds().length === 0, 'chat-1 should have expired');
// The feed shows the expiry once the store has reclaimed the session (within about a second of expiring).
const expired = chats.changes(0, { idsOnly: true }).changes.filter((c) => c.op === 'expire');
const shown = expired.map((c) => `${c.op} ${c.session_id}`).join(', ');
console.log(`feed: ${shown || 'no expire change yet (not reclaimed)'}`);
console.log(`idle store bounds: ${JSON.stringify(chats.stats().bounds)}`);
chats.close();

// 2. A capacity bound: a write that would hold a fourth session evicts the least recently written one first.
const cache = new SessionStore({ maxSessions: 3 });
for (const id of ['a', 'b', 'c']) cache.upsert({ session_id: id });
cache.upsert({ session_id: 'a', turn: 2 }); // a is written again: b is now the least recently written
cache.upsert({ session_id: 'd' }); // evicts b
console.log(`sessions after writing a, b, c, a, d: ${cache.getAllSessionIds().join(', ')}`); // a, c, d
const evicted = cache.changes(0, { idsOnly: true }).changes.filter((c) => c.op === 'evict');
console.log(`feed: ${evicted.map((c) => `${c.op} ${c.session_id}`).join(', ')}`); // evict b
console.log(`bounded store bounds: ${JSON.stringify(cache.stats().bounds)}`); // evicted: 1, max_sessions: 3

// 3. A per-user quota that refuses instead of evicting: the write throws a FullError and changes nothing.
const quota = new SessionStore({ userMaxSessions: 1, whenFull: 'refuse' });
quota.upsert({ session_id: 'ava-1', user_id: 'ava' });
try {
  quota.upsert({ session_id: 'ava-2', user_id: 'ava' });
} catch (e) {
  if (!(e instanceof FullError)) throw e; // e.code 'FULL', e.status 15; nothing was stored
  console.log(`refused: ${e.message}`);
}
quota.upsert({ session_id: 'ben-1', user_id: 'ben' }); // another user's quota is untouched
console.log(`sessions with a quota of 1 per user: ${quota.getAllSessionIds().join(', ')}`); // ava-1, ben-1

check(cache.getAllSessionIds().join() === 'a,c,d' && cache.stats().bounds.evicted === 1, 'b should have been evicted');
check(quota.getAllSessionIds().join() === 'ava-1,ben-1', 'ava-2 should have been refused, ben-1 stored');
cache.close();
quota.close();
