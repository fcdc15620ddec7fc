"""Agno 2.x agent on sessionstore: the one-line change is db=SessionStoreDb() instead of db=InMemoryDb().
Several turns with history, then a second Agent with the same session_id continues; sessions then move
to and from Agno's own InMemoryDb. Run: python examples/agent_v2.py"""

from agno.agent import Agent
from agno.db.base import SessionType
from agno.db.in_memory import InMemoryDb

from scripted_model import ScriptedModel
from sessionstore.agno import SessionStoreDb

db = SessionStoreDb()  # was: InMemoryDb()
agent = Agent(model=ScriptedModel(), db=db, user_id="ava", add_history_to_context=True, num_history_runs=5)
for q in ["How many people live in Canada?", "What is their national anthem called?"]:
    print(f"> {q}\n  {agent.run(q).content}")

again = Agent(model=ScriptedModel(), db=db, user_id="ava", session_id=agent.session_id, add_history_to_context=True)
print(f"> What was my first question?\n  {again.run('What was my first question?').content}")
db.rename_session(agent.session_id, SessionType.AGENT, "Canada facts")  # type: ignore[arg-type]
rows, total = db.get_sessions(SessionType.AGENT, user_id="ava", session_name="canada", limit=10, page=1,
                              sort_by="updated_at", sort_order="desc", deserialize=False)  # type: ignore[misc]
print(f"sessions named like 'canada' for ava: {total}; runs in it: {len(rows[0]['runs'])}")

# Agno's InMemoryDb <-> sessionstore, through Agno's own session objects.
agno_db = InMemoryDb()
agno_db.upsert_sessions(db.get_sessions(SessionType.AGENT))  # type: ignore[arg-type]
moved = Agent(model=ScriptedModel(), db=agno_db, user_id="ava", session_id=agent.session_id, add_history_to_context=True)
print(f"InMemoryDb continues: {moved.run('Tell me a story').content}")
back = SessionStoreDb()
back.upsert_sessions(agno_db.get_sessions(SessionType.AGENT))  # type: ignore[arg-type]
print(f"back on sessionstore: {len(back.get_session(agent.session_id, SessionType.AGENT).runs)} runs")  # type: ignore[arg-type, union-attr]
