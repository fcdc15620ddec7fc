"""Agno cookbook "in_memory_storage_for_team" (agno 1.x) on sessionstore: a coordinate-mode Team whose
sessions go to SessionStoreStorage(mode="team"). Run: python examples/team_v1.py"""

from agno.agent import Agent
from agno.team import Team

from scripted_model import ScriptedModel
from sessionstore.agno import SessionStoreStorage

storage = SessionStoreStorage(mode="team")  # was: InMemoryStorage(mode="team")
hn_researcher = Agent(name="HackerNews Researcher", model=ScriptedModel(), role="Gets top stories from hackernews.")
web_searcher = Agent(name="Web Searcher", model=ScriptedModel(), role="Searches the web for information on a topic")
hn_team = Team(
    name="HackerNews Team",
    mode="coordinate",
    model=ScriptedModel(),
    members=[hn_researcher, web_searcher],
    storage=storage,
    enable_team_history=True,
    instructions=["First, search hackernews for what the user is asking about.", "Then summarise."],
)
for q in ["What is the top story on hackernews?", "Write an article about it", "What was my first question?"]:
    print(f"> {q}\n  {hn_team.run(q).content}")
session = storage.read(hn_team.session_id)  # type: ignore[arg-type]
print(f"team session {session.session_id}: team_id={session.team_id}, "  # type: ignore[union-attr]
      f"{len(session.memory['runs'])} runs stored")  # type: ignore[union-attr]
