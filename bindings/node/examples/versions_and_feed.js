// Versions, a compare-and-set retry loop, atomic appends, and a follower that mirrors the store from its change
// feed, also across restarts and when the store is made anew; it exits with status 1 if the mirror ever differs
// from the store. Run: node examples/versions_and_feed.js
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { isDeepStrictEqual } = require('node:util');
const { SessionStore, VersionMismatchError, FeedTruncatedError } = require('sessionstore');

const store = new SessionStore({ mode: 'agent' });
store.upsert({ session_id: 'chat-7', user_id: 'ava', memory: { runs: [] }, session_data: { tags: [] } });

// Appending runs needs no retry: concurrent appends to one session all land.
const appended = store.appendRuns('chat-7', [{ input: 'hi', output: 'hello' }], { userId: 'ava' });

// Any other read-modify-write: write only if nobody wrote since the read, else read again and redo the change.
function addTag(tag) {
  for (;;) {
    const session = store.read('chat-7', 'ava');
    session.session_data.tags.push(tag);
    try {
      return store.upsertIf(session, session.version);
    } catch (e) {
      if (!(e instanceof VersionMismatchError)) throw e; // another writer came first: retry
    }
  }
}
console.log(`appended: ${appended.memory.runs.length} run(s), version ${appended.version}`);
console.log(`tagged: ${addTag('travel').session_data.tags.join(', ')}`);

// A follower: a copy of the store from an export, then kept up to date from the change feed. It saves its copy with
// the number of the last change applied and the identity of the store that number belongs to (here in a JSON file),
// and each run of follow() starts from what was saved, as a restarted follower would. Change numbers are a store's
// own and start again from 1 in a store made anew, so when the identity differs from the saved one the follower
// starts again from an export, whatever the numbers say.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sessionstore-follower-'));
const saved = path.join(dir, 'mirror.json');

function fail(message) {
  console.error(`FAIL: ${message}`);
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}

/** An export of `source`, with its number and the store's identity; `why` is printed. */
function resync(source, why) {
  const { data, seq } = source.exportWithSeq();
  console.log(`follower: loaded an export (${why})`);
  return { store: source.stats().feed.store, seq, sessions: data, resynced: why };
}

/** Brings the saved mirror (or a first export) up to date with `source`, saves it and returns it. */
function follow(source) {
  let mirror = fs.existsSync(saved) ? JSON.parse(fs.readFileSync(saved, 'utf8')) : resync(source, 'first start');
  for (;;) {
    let page;
    try {
      page = source.changes(mirror.seq, { limit: 100 });
    } catch (e) {
      if (!(e instanceof FeedTruncatedError)) throw e;
      // Fell behind what the feed keeps (the feedBytes option), or a store made anew has not reached the number.
      const now = source.stats().feed.store;
      const why = now === mirror.store ? `fell behind the feed after ${mirror.seq}` : `another store: ${now}`;
      mirror = resync(source, why);
      continue;
    }
    if (page.store !== mirror.store) {
      // Another store: its changes after the saved number are not the ones this copy is missing.
      mirror = resync(source, `another store: ${page.store}, not ${mirror.store}`);
      continue;
    }
    if (page.changes.length === 0) break;
    const { sessions } = mirror;
    for (const c of page.changes) {
      if (c.op === 'upsert') sessions[c.session_id] = c.session;
      else if (c.op === 'drop') {
        for (const id of Object.keys(sessions)) if (sessions[id].session_type === c.session_type) delete sessions[id];
      } else delete sessions[c.session_id]; // 'delete', or the store's bounds: 'expire', 'evict'
    }
    mirror.seq = page.next;
  }
  fs.writeFileSync(`${saved}.tmp`, JSON.stringify({ store: mirror.store, seq: mirror.seq, sessions: mirror.sessions }));
  fs.renameSync(`${saved}.tmp`, saved); // the copy, its number and the store's identity, together
  // The check: the mirror is the store's export, at its latest change.
  const { data, seq } = source.exportWithSeq();
  if (!isDeepStrictEqual(mirror.sessions, data) || mirror.seq !== seq || mirror.store !== source.stats().feed.store) {
    fail(`the mirror (change ${mirror.seq} of ${mirror.store}) differs from the store (change ${seq})`);
  }
  return mirror;
}

follow(store); // the first start: an export
store.renameSession('chat-7', 'Lisbon');
store.upsert({ session_id: 'chat-8', user_id: 'ben' });
store.deleteSession('chat-8');
let mirror = follow(store); // a restart: from the saved number, along the feed
if (mirror.resynced) fail(`the restarted follower loaded an export (${mirror.resynced})`);
const { session_name: name } = mirror.sessions['chat-7'].session_data;
console.log(`mirror at change ${mirror.seq}: ${Object.keys(mirror.sessions).join(', ')}, named "${name}"`);
store.close();

// The store is made anew (say its process restarted, in memory): its changes are numbered from 1 again and soon go
// past the number the follower saved, so the numbers cannot tell. The identity does.
const anew = new SessionStore({ mode: 'agent' });
for (let i = 0; i < mirror.seq + 2; i++) anew.upsert({ session_id: `chat-${i % 3}`, user_id: 'cy', turn: i });
const saw = mirror.seq;
mirror = follow(anew);
if (!mirror.resynced || !mirror.resynced.startsWith('another store')) {
  fail(`the follower did not notice the store made anew (it had change ${saw}; resynced: ${mirror.resynced})`);
}
console.log(`mirror of the store made anew at change ${mirror.seq}: ${Object.keys(mirror.sessions).join(', ')}`);
anew.close();
fs.rmSync(dir, { recursive: true, force: true });
