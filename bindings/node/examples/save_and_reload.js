// Sessions saved to a file (export, Agno's storage_dict shape: { session_id: session }) and reloaded
// (import) into a new store, e.g. across a restart.
// Run: node examples/save_and_reload.js
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { SessionStore } = require('sessionstore');

const file = path.join(os.tmpdir(), `sessionstore-example-${process.pid}.json`);

// Before the "restart": a few agent and team sessions.
{
  const store = new SessionStore();
  store.upsert({ session_id: 'a-1', user_id: 'ava', agent_id: 'helper', memory: { facts: ['likes tea'] } });
  store.upsert({ session_id: 'a-2', user_id: 'ben', agent_id: 'helper' });
  const team = store.share('team');
  team.upsert({ session_id: 't-1', user_id: 'ava', team_id: 'crew' });
  team.close();
  fs.writeFileSync(file, store.exportRaw()); // raw JSON text straight to the file, no parse/stringify
  console.log(`saved ${Object.keys(store.export()).length} sessions (${fs.statSync(file).size} bytes) to ${file}`);
  store.close();
}

// After the "restart": a new, empty store reloads them.
{
  const store = new SessionStore();
  const count = store.importRaw(fs.readFileSync(file)); // a Buffer is fine too
  console.log(`reloaded ${count} sessions into a new store`);
  const ava = store.read('a-1', 'ava');
  console.log(`a-1 for ava: facts = ${JSON.stringify(ava.memory.facts)}, created_at kept = ${ava.created_at > 0}`);
  const team = store.share('team');
  console.log('team sessions after reload:', team.getAllSessionIds());
  team.close();

  // Objects work too: export() gives { session_id: session }, import() takes it.
  const copy = new SessionStore();
  console.log(`copied ${copy.import(store.export())} sessions into a third store through objects`);
  copy.close();
  store.close();
}
fs.rmSync(file);
