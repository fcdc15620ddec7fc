// An agent's conversation that outlives the program: its session lives in a durable store, in the directory given
// as the first argument (default: sessionstore-durable-session in the system's temporary directory). Each run opens
// the store, which loads what earlier runs wrote, appends one run to the session's memory, saves it and exits; the
// next run continues from there.
// Run: node examples/durable_session.js /tmp/chat   (then again: "runs so far: 2")
const os = require('node:os');
const path = require('node:path');
const { SessionStore, LockedError } = require('sessionstore');

const dir = process.argv[2] || path.join(os.tmpdir(), 'sessionstore-durable-session');
const script = [
  { input: 'Plan 3 days in Lisbon', output: 'Day 1: Alfama...' },
  { input: 'Add a day trip', output: 'Day 4: Sintra' },
  { input: 'Where should we eat?', output: 'Time Out Market, then pastéis de Belém.' },
];

let storage;
try {
  // Durable: every upsert is in the journal, fsynced ('always'), before it returns.
  storage = new SessionStore({ mode: 'agent', path: dir, sync: 'always' });
} catch (e) {
  if (e instanceof LockedError) console.error(`another program has ${dir} open: ${e.message}`);
  throw e;
}
try {
  const session = storage.read('chat-42', 'ava') ?? {
    session_id: 'chat-42',
    user_id: 'ava',
    agent_id: 'travel-agent',
    memory: { runs: [] },
    session_data: { session_name: 'Lisbon trip' },
  };
  const earlier = session.memory.runs.length;
  console.log(earlier === 0 ? `new session chat-42 in ${dir}` : `continuing session chat-42 from ${dir}`);
  const run = script[earlier % script.length];
  console.log(`ava asks: ${run.input}\n  (history: ${earlier} earlier runs) answer: ${run.output}`);
  session.memory.runs.push(run);
  storage.upsert(session);
  storage.sync(); // close() cannot report a failed fsync; sync() can (here a no-op: 'always' already synced)
  const { durability } = storage.stats();
  console.log(`journal: ${durability.journal_bytes} bytes, sync ${durability.sync}`);
  console.log(`runs so far: ${storage.read('chat-42', 'ava').memory.runs.length}`);
} finally {
  storage.close(); // fsyncs and releases the directory for the next run
}
