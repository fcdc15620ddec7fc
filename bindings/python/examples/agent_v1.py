"""Agno cookbook "in_memory_storage_for_agent" (agno 1.x), on sessionstore: the one-line change is
storage=SessionStoreStorage() instead of storage=InMemoryStorage(). A second Agent with the same
session_id continues the conversation. Run: python examples/agent_v1.py"""

from agno.agent import Agent

from scripted_model import ScriptedModel
from sessionstore.agno import SessionStoreStorage

storage = SessionStoreStorage()  # was: InMemoryStorage()
agent = Agent(model=ScriptedModel(), storage=storage, add_history_to_messages=True)
for q in ["How many people live in Canada?", "What is their national anthem called?"]:
    print(f"> {q}\n  {agent.run(q).content}")

# A new Agent object, same storage and session_id: it reads the history back from the store.
again = Agent(model=ScriptedModel(), storage=storage, session_id=agent.session_id, add_history_to_messages=True)
print(f"> What was my first question?\n  {again.run('What was my first question?').content}")
print(f"stored sessions: {storage.get_all_session_ids()}; runs in it: "
      f"{len(storage.read(agent.session_id).memory['runs'])}")  # type: ignore[union-attr]
