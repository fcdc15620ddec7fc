"""An agno 1.x agent whose conversation outlives the program: SessionStoreStorage(path=...) keeps the
sessions in a durable store, in the directory given as the first argument (default:
sessionstore-durable-agent in the system's temporary directory). Each run of the program opens the store
(which loads what earlier runs wrote), asks one question in the same session, so the agent appends a run
to the stored session's memory, and exits; the next run continues the conversation.
Run: python examples/durable_agent_v1.py /tmp/chat   (then again: "runs so far: 2")"""

import os
import sys
import tempfile

from agno.agent import Agent

from scripted_model import ScriptedModel
from sessionstore.agno import SessionStoreStorage

QUESTIONS = ["How many people live in Canada?", "What is their national anthem called?", "What was my first question?"]

path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), "sessionstore-durable-agent")
# Durable: every write is in the journal, fsynced (sync="always"), before it returns.
with SessionStoreStorage(path=path, sync="always") as storage:  # was: InMemoryStorage()
    earlier = storage.read("canada-chat")
    runs = len(earlier.memory["runs"]) if earlier is not None and earlier.memory else 0  # type: ignore[union-attr]
    print(f"{'continuing' if earlier else 'new'} session canada-chat in {path} ({runs} earlier runs)")
    agent = Agent(model=ScriptedModel(), storage=storage, session_id="canada-chat", add_history_to_messages=True)
    question = QUESTIONS[runs % len(QUESTIONS)]
    print(f"> {question}\n  {agent.run(question).content}")
    storage.store.sync()  # close() cannot report a failed fsync; sync() can (a no-op under "always")
    durability = storage.store.stats()["durability"]
    assert durability is not None
    print(f"journal: {durability['journal_bytes']} bytes, sync {durability['sync']}")
    print(f"runs so far: {len(storage.read('canada-chat').memory['runs'])}")  # type: ignore[union-attr]
# Closed: the journal is fsynced and the directory released for the next run.
