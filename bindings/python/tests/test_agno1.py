"""agno 1.8.4: SessionStoreStorage against the Storage contract and InMemoryStorage, and a real Agent,
Team and workflows with the scripted model."""

import json

import pytest

agno_version = pytest.importorskip("importlib.metadata").version("agno")
if not agno_version.startswith("1."):
    pytest.skip(f"agno 1.x tests (agno {agno_version} installed)", allow_module_level=True)

from agno.agent import Agent  # noqa: E402
from agno.storage.base import Storage  # noqa: E402
from agno.storage.in_memory import InMemoryStorage  # noqa: E402
from agno.storage.session.agent import AgentSession  # noqa: E402
from agno.storage.session.team import TeamSession  # noqa: E402
from agno.storage.session.v2.workflow import WorkflowSession as WorkflowSessionV2  # noqa: E402
from agno.storage.session.workflow import WorkflowSession  # noqa: E402
from agno.team import Team  # noqa: E402
from scripted_model import ScriptedModel  # noqa: E402

import sessionstore as ss  # noqa: E402
from sessionstore.agno import SessionStoreStorage  # noqa: E402

CLASSES = {"agent": AgentSession, "team": TeamSession, "workflow": WorkflowSession, "workflow_v2": WorkflowSessionV2}
ENTITY = {"agent": "agent_id", "team": "team_id", "workflow": "workflow_id", "workflow_v2": "workflow_id"}


def make(mode: str, i: int, user: str = "u1", entity: str = "e1"):  # type: ignore[no-untyped-def]
    cls = CLASSES[mode]
    kw = {"session_id": f"{mode}-{i}", "user_id": user, ENTITY[mode]: entity, "session_data": {"session_name": f"n{i}"}}
    return cls(**kw)


@pytest.mark.parametrize("mode", list(CLASSES))
def test_storage_contract_all_modes(mode: str) -> None:
    s = SessionStoreStorage(mode=mode)  # type: ignore[arg-type]
    assert isinstance(s, Storage) and s.mode == mode
    s.create()
    s.upgrade_schema()
    for i in range(4):
        assert s.upsert(make(mode, i, user=f"u{i % 2}", entity=f"e{i % 2}")) is not None
    got = s.read(f"{mode}-0")
    assert isinstance(got, CLASSES[mode]) and got.session_id == f"{mode}-0" and got.created_at
    assert s.read(f"{mode}-0", user_id="u0") is not None and s.read(f"{mode}-0", user_id="u1") is None
    assert s.read("missing") is None
    assert s.get_all_session_ids() == [f"{mode}-{i}" for i in range(4)]
    assert s.get_all_session_ids(user_id="u1") == [f"{mode}-1", f"{mode}-3"]  # workflow_v2 too
    assert s.get_all_session_ids(entity_id="e0") == [f"{mode}-0", f"{mode}-2"]
    assert [x.session_id for x in s.get_all_sessions(user_id="u0", entity_id="e0")] == [f"{mode}-0", f"{mode}-2"]
    assert all(isinstance(x, CLASSES[mode]) for x in s.get_all_sessions())
    recent = s.get_recent_sessions(limit=3)
    assert len(recent) == 3 and recent[0].session_id == f"{mode}-3"  # same second: newest insert first
    assert len(s.get_recent_sessions(limit=None)) == 4
    s.delete_session(f"{mode}-0")
    s.delete_session(None)
    assert s.read(f"{mode}-0") is None
    s.drop()
    assert s.get_all_session_ids() == []


def test_mode_switch_keeps_data_and_types_apart() -> None:
    s = SessionStoreStorage()
    s.upsert(make("agent", 1))
    s.mode = "team"
    assert s.store.mode == "team" and s.read("agent-1") is None  # another type's session: None
    s.upsert(make("team", 1))
    s.mode = "agent"
    assert s.get_all_session_ids() == ["agent-1"]
    with pytest.raises(ss.Conflict):  # InMemoryStorage would overwrite the team session silently
        s.upsert(AgentSession(session_id="team-1"))


def test_errors_are_raised_not_swallowed() -> None:
    s = SessionStoreStorage()
    with pytest.raises(ss.InvalidJson):
        s.upsert(AgentSession(session_id="x", memory={"bad": object()}))


def test_export_loads_into_in_memory_storage_and_back() -> None:
    ours = SessionStoreStorage()
    for i in range(3):
        ours.upsert(make("agent", i))
    exported = ours.export()
    theirs = InMemoryStorage(storage_dict=json.loads(json.dumps(exported)))
    assert theirs.get_all_session_ids() == ours.get_all_session_ids()
    assert theirs.read("agent-1") == ours.read("agent-1")
    theirs.upsert(make("agent", 9))
    back = SessionStoreStorage(storage_dict=theirs.storage)
    assert back.get_all_session_ids() == ["agent-0", "agent-1", "agent-2", "agent-9"]
    assert back.read("agent-9") == theirs.read("agent-9")
    # The store's "version" travels in the exported dicts: Agno's session classes ignore it (from_dict
    # picks the fields it knows), and an import replaces it with the importing store's own numbers.
    assert [exported[f"agent-{i}"]["version"] for i in range(3)] == [1, 2, 3]
    assert "version" in theirs.storage["agent-1"] and "version" not in theirs.storage["agent-9"]
    assert back.export()["agent-9"]["version"] == 4 and back.read("agent-1") == ours.read("agent-1")
    again = SessionStoreStorage(storage_dict=back.export())  # a store's export into another store
    assert {k: {f: v for f, v in d.items() if f != "version"} for k, d in again.export().items()} == {
        k: {f: v for f, v in d.items() if f != "version"} for k, d in back.export().items()
    }


def test_agent_runs_are_versioned_writes() -> None:
    storage = SessionStoreStorage()
    agent = Agent(model=ScriptedModel(), storage=storage, session_id="v", add_history_to_messages=True)
    agent.run("How many people live in Canada?")
    first = storage.store.read("v")
    agent.run("What is their national anthem called?")
    second = storage.store.read("v")
    assert first is not None and second is not None and second["version"] > first["version"]
    # The feed shows the agent's writes; a dict with "version" read from the store loads into Agno's class.
    assert {c["session_id"] for c in storage.store.changes(0)["changes"] if c["op"] == "upsert"} == {"v"}
    assert AgentSession.from_dict(second) == storage.read("v")


def test_shared_store_for_several_storages() -> None:
    with ss.Store() as base:
        a, t = SessionStoreStorage("agent", store=base), SessionStoreStorage("team", store=base)
        a.upsert(make("agent", 1))
        t.upsert(make("team", 1))
        assert base.stats()["sessions"] == 2 and a.get_all_session_ids() == ["agent-1"]


def test_agent_history_and_second_agent_continues() -> None:
    storage = SessionStoreStorage()
    agent = Agent(model=ScriptedModel(), storage=storage, add_history_to_messages=True, user_id="ava")
    agent.run("How many people live in Canada?")
    agent.run("What is their national anthem called?")
    ScriptedModel.prompts.clear()
    again = Agent(model=ScriptedModel(), storage=storage, session_id=agent.session_id, user_id="ava",
                  add_history_to_messages=True)
    out = again.run("What was my first question?").content
    assert "Your first question was: How many people live in Canada?" in out
    assert "[history: 2 earlier" in out
    assert any("user: What is their national anthem called?" in m for m in ScriptedModel.prompts[-1])
    stored = storage.read(agent.session_id)
    assert stored is not None and len(stored.memory["runs"]) == 3 and stored.user_id == "ava"  # type: ignore[attr-defined,index]
    assert [x.session_id for x in storage.get_recent_sessions(user_id="ava")] == [agent.session_id]


def test_team_history() -> None:
    storage = SessionStoreStorage(mode="team")
    members = [Agent(name="R", model=ScriptedModel(), role="research")]
    team = Team(name="T", mode="coordinate", model=ScriptedModel(), members=members, storage=storage,
                enable_team_history=True)
    team.run("What is the top story on hackernews?")
    out = Team(name="T", mode="coordinate", model=ScriptedModel(), members=members, storage=storage,
               session_id=team.session_id, enable_team_history=True).run("What was my first question?").content
    assert "Your first question was: What is the top story on hackernews?" in out
    stored = storage.read(team.session_id)  # type: ignore[arg-type]
    assert isinstance(stored, TeamSession) and len(stored.memory["runs"]) == 2  # type: ignore[index]


def test_upsert_of_another_users_session_is_refused() -> None:
    s = SessionStoreStorage()
    s.upsert(AgentSession(session_id="x", user_id="ava", memory={"runs": [1]}))
    with pytest.raises(ss.PermissionDenied) as e:  # InMemoryStorage would let ben overwrite it
        s.upsert(AgentSession(session_id="x", user_id="ben"))
    assert e.value.status == 8
    with pytest.raises(ss.PermissionDenied):
        s.upsert(AgentSession(session_id="x"))
    stored = s.read("x")
    assert stored is not None and stored.user_id == "ava" and stored.memory == {"runs": [1]}  # type: ignore[attr-defined]
    s.upsert(AgentSession(session_id="x", user_id="ava", memory={"runs": [1, 2]}))
    s.store.import_({"x": {"session_id": "x", "user_id": "ben"}})  # an import moves it (administrative)
    assert s.read("x", user_id="ben") is not None


def test_non_finite_metrics_are_stored_as_null() -> None:
    s = SessionStoreStorage()
    s.upsert(AgentSession(session_id="m", session_data={"session_metrics": {"t": float("nan"), "u": float("inf")}}))
    got = s.read("m")
    assert got is not None and got.session_data == {"session_metrics": {"t": None, "u": None}}  # type: ignore[attr-defined]
    with ss.Store() as strict:  # a shared store keeps its own setting ("reject" by default)
        with pytest.raises(ss.InvalidJson, match="non_finite_numbers"):
            SessionStoreStorage(store=strict).upsert(AgentSession(session_id="m", memory={"x": float("nan")}))
    with pytest.raises(ss.InvalidJson):
        SessionStoreStorage(non_finite_numbers="reject").upsert(AgentSession(session_id="m", memory={"x": float("nan")}))


def test_bounds_pass_through_and_evicted_or_expired_sessions_read_as_none() -> None:
    s = SessionStoreStorage(max_sessions=2)
    assert s.store.stats()["bounds"]["max_sessions"] == 2
    for i in range(3):
        s.upsert(AgentSession(session_id=f"a{i}", user_id="u"))
    assert s.get_all_session_ids() == ["a1", "a2"] and s.read("a0") is None  # the oldest write was evicted
    s.close()
    old = SessionStoreStorage(idle_expiry_s=3600, storage_dict={"old": {"session_id": "old", "updated_at": 1000}})
    assert old.read("old") is None and old.get_all_session_ids() == [] and old.export() == {}
    old.close()
    full = SessionStoreStorage("team", user_max_sessions=1, when_full="refuse")
    full.upsert(TeamSession(session_id="t1", user_id="ava"))
    with pytest.raises(ss.Full) as e:
        full.upsert(TeamSession(session_id="t2", user_id="ava"))
    assert e.value.status == 15 and full.read("t2") is None
    full.upsert(TeamSession(session_id="t3", user_id="ben"))
    assert full.get_all_session_ids() == ["t1", "t3"]
    full.close()
