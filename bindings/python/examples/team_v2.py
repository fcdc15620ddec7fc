"""Agno 2.x team on sessionstore: a Team with two members and db=SessionStoreDb(), several turns with
history; a second Team object with the same session_id continues. Run: python examples/team_v2.py"""

from agno.agent import Agent
from agno.db.base import SessionType
from agno.team import Team

from scripted_model import ScriptedModel
from sessionstore.agno import SessionStoreDb

db = SessionStoreDb()


def make_team(session_id=None):  # type: ignore[no-untyped-def]
    members = [
        Agent(name="HackerNews Researcher", model=ScriptedModel(), role="Gets top stories from hackernews."),
        Agent(name="Web Searcher", model=ScriptedModel(), role="Searches the web for information on a topic"),
    ]
    return Team(name="HackerNews Team", model=ScriptedModel(), members=members, db=db, session_id=session_id,
                add_history_to_context=True, num_history_runs=5)


team = make_team()
for q in ["What is the top story on hackernews?", "Write an article about it"]:
    print(f"> {q}\n  {team.run(q).content}")
print(f"> What was my first question?\n  {make_team(team.session_id).run('What was my first question?').content}")
stored = db.get_session(team.session_id, SessionType.TEAM)  # type: ignore[arg-type]
print(f"team session: {len(stored.runs)} runs, team_id={stored.team_id}")  # type: ignore[union-attr]
