"""Agno cookbook "in_memory_storage_for_workflow" (agno 1.x) on sessionstore, offline: a Workflow whose
run() asks an agent and writes a report; its session goes to SessionStoreStorage(mode="workflow").
Also a step-based workflow (agno.workflow.v2), stored in mode "workflow_v2".
Run: python examples/workflow_v1.py"""

from typing import Iterator

from agno.agent import Agent
from agno.run.response import RunResponse
from agno.workflow import Workflow
from agno.workflow.v2 import Step
from agno.workflow.v2 import Workflow as WorkflowV2

from scripted_model import ScriptedModel
from sessionstore.agno import SessionStoreStorage


class HackerNewsReporter(Workflow):
    description: str = "Get the top stories from Hacker News and write a report on them."
    hn_agent: Agent = Agent(model=ScriptedModel(), description="Get the top stories from hackernews.")
    writer: Agent = Agent(model=ScriptedModel(), description="Write an engaging report on the top stories.")

    def run(self, num_stories: int = 5) -> Iterator[RunResponse]:  # type: ignore[override]
        top = self.hn_agent.run(f"Get the top {num_stories} stories")
        self.session_state.setdefault("reports", 0)
        self.session_state["reports"] += 1
        yield from self.writer.run(f"Write an article about: {top.content}", stream=True)


storage = SessionStoreStorage(mode="workflow")  # was: InMemoryStorage(mode="workflow")
reporter = HackerNewsReporter(storage=storage, session_id="hn-report")
for chunk in reporter.run(num_stories=5):
    print(f"  {chunk.content}")
for chunk in HackerNewsReporter(storage=storage, session_id="hn-report").run(num_stories=3):
    print(f"  {chunk.content}")
stored = storage.read("hn-report")
print(f"workflow session {stored.session_id}: session_state={stored.session_data['session_state']}")  # type: ignore[union-attr]

# Step-based workflows (agno.workflow.v2) use mode "workflow_v2".
storage_v2 = SessionStoreStorage(mode="workflow_v2")
pipeline = WorkflowV2(
    name="Report pipeline",
    storage=storage_v2,
    steps=[Step(name="research", agent=Agent(model=ScriptedModel())), Step(name="write", agent=Agent(model=ScriptedModel()))],
)
print(f"  {pipeline.run(message='Top story on hackernews?').content}")
session_v2 = storage_v2.read(pipeline.session_id)  # type: ignore[arg-type]
print(f"workflow_v2 session: {len(session_v2.runs or [])} run(s) stored")  # type: ignore[union-attr]
