"""Agno 2.x workflow on sessionstore: a two-step Workflow with db=SessionStoreDb(), run twice in one
session; the second run sees the first in the stored session. Run: python examples/workflow_v2.py"""

from agno.agent import Agent
from agno.db.base import SessionType
from agno.workflow import Step, Workflow

from scripted_model import ScriptedModel
from sessionstore.agno import SessionStoreDb

db = SessionStoreDb()
workflow = Workflow(
    name="Report pipeline",
    db=db,
    steps=[
        Step(name="research", agent=Agent(name="Researcher", model=ScriptedModel())),
        Step(name="write", agent=Agent(name="Writer", model=ScriptedModel())),
    ],
)
print(f"  {workflow.run(input='Top story on hackernews?').content}")
print(f"  {workflow.run(input='Write an article about it').content}")
stored = db.get_session(workflow.session_id, SessionType.WORKFLOW)  # type: ignore[arg-type]
print(f"workflow session: {len(stored.runs)} runs, workflow_id={stored.workflow_id}")  # type: ignore[union-attr]
