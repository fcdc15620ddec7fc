// Workflow sessions: Agno 1.x workflows ("workflow" mode) and 2.x-style workflows ("workflow_v2", with runs),
// listed by workflow, searched by name and paged with query().
// Run: node examples/workflow_sessions.js
const { SessionStore } = require('sessionstore');

const workflows = new SessionStore({ mode: 'workflow' });
for (const [i, topic] of ['rust ffi', 'node bindings', 'rust async'].entries()) {
  workflows.upsert({
    session_id: `blog-${i}`,
    user_id: 'editor',
    workflow_id: 'blog-post-generator',
    workflow_data: { topic },
    session_data: { session_name: `Blog: ${topic}`, session_state: { step: 'draft' } },
    created_at: 1_700_000_000 + i * 60,
  });
}
workflows.upsert({ session_id: 'report-0', user_id: 'editor', workflow_id: 'weekly-report', created_at: 1_700_000_500 });
console.log('blog workflow sessions:', workflows.getAllSessionIds({ entityId: 'blog-post-generator' }).join(', '));

const rust = workflows.query({ sessionName: 'RUST', sortBy: 'created_at', sortOrder: 'asc' });
console.log(`name search "RUST": ${rust.total} match(es):`, rust.sessions.map((s) => s.session_data.session_name).join(' | '));

const page = workflows.query({ userId: 'editor', limit: 2, offset: 2 });
console.log(`page 2 of the editor's sessions (2 per page, newest first): ${page.sessions.map((s) => s.session_id).join(', ')} of ${page.total}`);

// workflow_v2 sessions live in the same store, on a handle of that mode.
const v2 = workflows.share('workflow_v2');
v2.upsert({
  session_id: 'wf2-1',
  user_id: 'editor',
  workflow_id: 'research',
  workflow_name: 'Research pipeline',
  runs: [{ run_id: 'r1', status: 'COMPLETED', step_results: [{ step: 'search', content: '12 sources' }] }],
});
const run = v2.read('wf2-1').runs[0];
console.log(`workflow_v2 run ${run.run_id}: ${run.status}, ${run.step_results.length} step(s)`);
console.log('the workflow handle does not see it:', workflows.read('wf2-1'));
console.log('store totals by type:', JSON.stringify(v2.stats().by_type));

v2.close();
workflows.close();
