// Team sessions: a team session plus the sessions of its member agents (linked with team_session_id), each
// kept through a handle of its own mode on one shared store. Mirrors Agno's team + storage cookbook.
// Run: node examples/team_sessions.js
const { SessionStore, ConflictError } = require('sessionstore');

const teams = new SessionStore({ mode: 'team' });
const agents = teams.share('agent');

teams.upsert({
  session_id: 'team-run-1',
  user_id: 'ops',
  team_id: 'news-team',
  team_data: { members: ['researcher', 'writer'] },
  memory: { runs: [{ input: 'Summarise the AI news', output: '...' }] },
});
agents.upsertMany([
  { session_id: 'member-researcher', user_id: 'ops', agent_id: 'researcher', team_session_id: 'team-run-1' },
  { session_id: 'member-writer', user_id: 'ops', agent_id: 'writer', team_session_id: 'team-run-1' },
]);

const team = teams.read('team-run-1');
console.log(`team ${team.team_id}: members ${team.team_data.members.join(' + ')}`);
const members = agents.getAllSessions({ userId: 'ops' }).filter((s) => s.team_session_id === team.session_id);
console.log(`member sessions of ${team.session_id}: ${members.map((s) => s.agent_id).join(', ')}`);
console.log('team sessions of news-team:', teams.getAllSessionIds({ entityId: 'news-team' }));

// One id, one type: the store refuses to overwrite a team session from an agent handle.
try {
  agents.upsert({ session_id: 'team-run-1', agent_id: 'intruder' });
} catch (e) {
  if (!(e instanceof ConflictError)) throw e;
  console.log(`agent handle writing a team id -> ${e.code}: ${e.message}`);
}

console.log('deleted from the team handle:', teams.deleteSession('team-run-1'), '; member sessions left:', agents.getAllSessionIds().length);
agents.close();
teams.close();
