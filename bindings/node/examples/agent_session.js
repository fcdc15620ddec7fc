// An agent keeps its session in a SessionStore within the program, and a second handle (a "dashboard")
// sees the same data. Mirrors Agno's cookbook agent + InMemoryStorage example.
// Run: node examples/agent_session.js
const { SessionStore } = require('sessionstore');

const storage = new SessionStore({ mode: 'agent' });

// The agent's first run creates its session...
storage.upsert({
  session_id: 'chat-42',
  user_id: 'ava',
  agent_id: 'travel-agent',
  memory: { runs: [{ input: 'Plan 3 days in Lisbon', output: 'Day 1: Alfama...' }] },
  session_data: { session_name: 'Lisbon trip' },
});

// ...the next run reads it back, appends to its memory and stores it again.
const session = storage.read('chat-42', 'ava');
session.memory.runs.push({ input: 'Add a day trip', output: 'Day 4: Sintra' });
const saved = storage.upsert(session);
console.log(`agent stored ${saved.session_id}: ${saved.memory.runs.length} runs, created_at kept = ${saved.created_at === session.created_at}`);

// A second handle on the same data, e.g. a dashboard in the same program.
const dashboard = storage.share();
const recent = dashboard.getRecentSessions({ userId: 'ava', limit: 5 });
console.log(`dashboard sees ${recent.length} session(s) for ava: ${recent.map((s) => s.session_data.session_name).join(', ')}`);
console.log(`another user sees it? ${dashboard.read('chat-42', 'ben') !== null}`);

dashboard.renameSession('chat-42', 'Lisbon + Sintra');
console.log(`renamed through the dashboard, seen by the agent: "${storage.read('chat-42').session_data.session_name}"`);

storage.close();
console.log(`agent handle closed; the dashboard still has ${dashboard.getAllSessionIds().length} session(s)`);
dashboard.close();
