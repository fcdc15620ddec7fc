"""Agno cookbook "bring your own dict" (agno 1.x) on sessionstore: sessions saved as a plain dict
(here a JSON file instead of S3) and loaded back, in both directions with Agno's own InMemoryStorage.
Run: python examples/bring_your_own_dict_v1.py"""

import json
import os
import tempfile

from agno.agent import Agent
from agno.storage.in_memory import InMemoryStorage

from scripted_model import ScriptedModel
from sessionstore.agno import SessionStoreStorage

path = os.path.join(tempfile.mkdtemp(), "agent-sessions.json")

# Step 1: an agent on sessionstore; its sessions are exported as Agno's storage_dict shape.
storage = SessionStoreStorage()
agent = Agent(model=ScriptedModel(), storage=storage, add_history_to_messages=True)
agent.run("What is the capital of France?")
agent.run("What is its population?")
with open(path, "w") as f:
    f.write(storage.store.export_raw().decode())  # or json.dump(storage.export(), f)
print(f"saved {len(storage.export())} session(s) to {path}")

# Step 2: Agno's own InMemoryStorage loads that dict and continues the conversation.
with open(path) as f:
    agno_storage = InMemoryStorage(storage_dict=json.load(f))
agno_agent = Agent(model=ScriptedModel(), storage=agno_storage, session_id=agent.session_id, add_history_to_messages=True)
print(f"InMemoryStorage continues: {agno_agent.run('What was my first question?').content}")

# Step 3: and Agno's dict loads back into sessionstore (storage_dict=..., as InMemoryStorage takes it).
back = SessionStoreStorage(storage_dict=agno_storage.storage)
again = Agent(model=ScriptedModel(), storage=back, session_id=agent.session_id, add_history_to_messages=True)
print(f"back on sessionstore: {again.run('Tell me a story').content}")
print(f"runs in the session now: {len(back.read(agent.session_id).memory['runs'])}")  # type: ignore[union-attr]
os.remove(path)
