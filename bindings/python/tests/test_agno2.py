"""agno 2.x: SessionStoreDb against InMemoryDb on the same sessions (filters, paging, sorting, totals),
and a real Agent, Team and Workflow with the scripted model."""

import random

import pytest

agno_version = pytest.importorskip("importlib.metadata").version("agno")
if not agno_version.startswith("2."):
    pytest.skip(f"agno 2.x tests (agno {agno_version} installed)", allow_module_level=True)

from agno.agent import Agent  # noqa: E402
from agno.db.base import BaseDb, SessionType  # noqa: E402
from agno.db.in_memory import InMemoryDb  # noqa: E402
from agno.session import AgentSession, TeamSession, WorkflowSession  # noqa: E402
from agno.team import Team  # noqa: E402
from agno.workflow import Step, Workflow  # noqa: E402
from scripted_model import ScriptedModel  # noqa: E402

from sessionstore.agno import SessionStoreDb  # noqa: E402

NAMES = ["Trip to Rome", "Tax questions", "trip to TOKYO", "Budget", None]


def sessions(n: int = 60):  # type: ignore[no-untyped-def]
    rnd = random.Random(7)
    out = []
    for i in range(n):
        kind = [AgentSession, TeamSession, WorkflowSession][i % 3]
        comp = {AgentSession: "agent_id", TeamSession: "team_id", WorkflowSession: "workflow_id"}[kind]
        name = NAMES[rnd.randrange(len(NAMES))]
        created = 1_700_000_000 + rnd.randrange(10_000_000)  # distinct times: no ties to order
        out.append(kind(session_id=f"s{i:03d}", user_id=f"u{i % 4}", **{comp: f"c{i % 5}"},
                        session_data={"session_name": name} if name else None,
                        created_at=created, updated_at=created + rnd.randrange(1000)))
    return out


@pytest.fixture(scope="module")
def pair():  # type: ignore[no-untyped-def]
    ours, theirs = SessionStoreDb(), InMemoryDb()
    data = sessions()
    ours.upsert_sessions(data, preserve_updated_at=True)
    for s in data:
        theirs.upsert_session(s)  # an insert keeps created_at/updated_at as given
    return ours, theirs


def test_every_abstract_method_is_there() -> None:
    assert isinstance(SessionStoreDb(), BaseDb) and not SessionStoreDb.__abstractmethods__
    with pytest.raises(NotImplementedError, match="get_user_memories"):
        SessionStoreDb().get_user_memories()


CASES = [
    dict(),
    dict(session_type=SessionType.AGENT),
    dict(session_type=SessionType.TEAM, user_id="u1"),
    dict(session_type=SessionType.WORKFLOW, component_id="c2"),
    dict(session_type=SessionType.AGENT, session_name="trip"),
    dict(session_name="TRIP", sort_by="created_at", sort_order="asc"),
    dict(start_timestamp=1_702_000_000, end_timestamp=1_708_000_000, sort_by="updated_at"),
    dict(session_type=SessionType.AGENT, limit=3, page=2, sort_by="created_at", sort_order="desc"),
    dict(session_type=SessionType.TEAM, limit=4, sort_by="updated_at", sort_order="asc"),
    dict(limit=5, page=3, sort_by="created_at"),
    dict(limit=7, page=2, sort_by="updated_at", sort_order="asc", user_id="u2"),
    dict(session_type=SessionType.AGENT, limit=5, page=1, sort_by="session_id", sort_order="asc"),
    dict(limit=4, page=2, sort_by="user_id", sort_order="asc", session_type=SessionType.WORKFLOW),
    dict(session_type=SessionType.AGENT, limit=0),
    dict(session_type=SessionType.AGENT, page=3),
    dict(session_type=SessionType.AGENT, limit=100, page=9),
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_get_sessions_like_in_memory_db(pair, case) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = pair
    rows, total = ours.get_sessions(deserialize=False, **case)
    want_rows, want_total = theirs.get_sessions(deserialize=False, **case)
    assert total == want_total
    sort_by = case.get("sort_by")
    if sort_by in ("created_at", "updated_at", "session_id"):
        assert [r["session_id"] for r in rows] == [r["session_id"] for r in want_rows]
    elif sort_by is not None:  # sorted here as InMemoryDb does: the same sequence of sort values
        assert [r.get(sort_by) for r in rows] == [r.get(sort_by) for r in want_rows]
    elif case.get("limit") is None:  # no sort: InMemoryDb's insertion order, ours created_at ascending
        assert sorted(r["session_id"] for r in rows) == sorted(r["session_id"] for r in want_rows)
    else:
        assert len(rows) == len(want_rows)
    objs = ours.get_sessions(**case)
    assert [o.session_id for o in objs] == [r["session_id"] for r in rows]
    for o, r in zip(objs, rows):
        assert type(o).__name__.lower().startswith(r["session_type"])


def test_rows_match_in_memory_db_but_for_the_version(pair) -> None:  # type: ignore[no-untyped-def]
    # The store adds one member to every session, "version" (a number that grows with every write);
    # the adapter hands it on in rows (deserialize=False) and Agno's session classes ignore it.
    ours, theirs = pair
    rows, _ = ours.get_sessions(deserialize=False, sort_by="session_id", sort_order="asc")
    want, _ = theirs.get_sessions(deserialize=False, sort_by="session_id", sort_order="asc")
    assert len(rows) == len(want) > 0
    for r, w in zip(rows, want):
        assert isinstance(r["version"], int) and r["version"] > 0
        assert set(r) - {"version"} == set(w)
        # updated_at: the store keeps the given one (preserve_updated_at=True), InMemoryDb its own.
        assert {k: v for k, v in r.items() if k not in ("version", "updated_at")} == {
            k: v for k, v in w.items() if k != "updated_at"
        }
    assert [o.session_id for o in ours.get_sessions(sort_by="session_id", sort_order="asc")] == [r["session_id"] for r in rows]


def test_export_import_and_in_memory_db_round_trip_with_versions() -> None:
    db = SessionStoreDb()
    agent = Agent(model=ScriptedModel(), db=db, session_id="rt", add_history_to_context=True)
    agent.run("How many people live in Canada?")
    agent.run("What is their national anthem called?")
    stored = db.get_session("rt", SessionType.AGENT, deserialize=False)
    assert stored["version"] >= 2
    other = SessionStoreDb()
    assert other.import_(db.export()) == 1  # a version in the records is replaced by the importer's
    assert other.get_session("rt", SessionType.AGENT) == db.get_session("rt", SessionType.AGENT)
    agno_db = InMemoryDb()
    agno_db.upsert_sessions(db.get_sessions(SessionType.AGENT))  # Agno's classes drop the version
    assert "version" not in agno_db.get_session("rt", SessionType.AGENT, deserialize=False)
    back = SessionStoreDb()
    back.upsert_sessions(agno_db.get_sessions(SessionType.AGENT))
    assert len(back.get_session("rt", SessionType.AGENT).runs) == 2


def test_session_methods(pair) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = pair
    assert ours.get_session("s000", SessionType.AGENT).session_id == "s000"
    assert ours.get_session("s000").session_id == "s000"  # any type
    assert ours.get_session("s001", SessionType.AGENT) is None  # a team session
    assert ours.get_session("s000", SessionType.AGENT, user_id="nobody") is None
    assert ours.get_session("s000", deserialize=False)["session_type"] == "agent"
    renamed = ours.rename_session("s003", SessionType.AGENT, "Renamed", deserialize=False)
    assert renamed["session_data"]["session_name"] == "Renamed"
    assert ours.rename_session("s003", SessionType.AGENT, "x", user_id="nobody") is None
    assert ours.rename_session("nope", None, "x") is None
    # InMemoryDb refuses to move a session to another user; so do we.
    assert ours.upsert_session(AgentSession(session_id="s000", user_id="intruder")) is None
    assert ours.get_session("s000").user_id == "u0"
    saved = ours.upsert_session(AgentSession(session_id="new", user_id="u9", agent_id="a"))
    assert isinstance(saved, AgentSession) and saved.created_at
    assert ours.delete_session("new", user_id="other") is False
    assert ours.delete_session("new") is True and ours.get_session("new") is None
    ours.delete_sessions(["s006", "s007", "s008"], user_id="u2")  # only s006 is u2's
    assert ours.get_session("s006") is None and ours.get_session("s007") is not None


def test_agent_team_workflow_with_history() -> None:
    db = SessionStoreDb()
    agent = Agent(model=ScriptedModel(), db=db, user_id="ava", add_history_to_context=True, num_history_runs=5)
    agent.run("How many people live in Canada?")
    agent.run("What is their national anthem called?")
    again = Agent(model=ScriptedModel(), db=db, user_id="ava", session_id=agent.session_id, add_history_to_context=True)
    out = again.run("What was my first question?").content
    assert "Your first question was: How many people live in Canada?" in out and "[history: 2 earlier" in out
    assert len(db.get_session(agent.session_id, SessionType.AGENT).runs) == 3

    members = [Agent(name="R", model=ScriptedModel(), role="research")]
    team = Team(name="T", model=ScriptedModel(), members=members, db=db, add_history_to_context=True)
    team.run("What is the top story on hackernews?")
    out = Team(name="T", model=ScriptedModel(), members=members, db=db, session_id=team.session_id,
               add_history_to_context=True).run("What was my first question?").content
    assert "Your first question was: What is the top story on hackernews?" in out
    assert isinstance(db.get_session(team.session_id, SessionType.TEAM), TeamSession)

    wf = Workflow(name="W", db=db, steps=[Step(name="s", agent=Agent(name="A", model=ScriptedModel()))])
    wf.run(input="Tell me a story")
    wf.run(input="Again")
    stored = db.get_session(wf.session_id, SessionType.WORKFLOW)
    assert isinstance(stored, WorkflowSession) and len(stored.runs) == 2
    rows, total = db.get_sessions(deserialize=False)
    assert total == 3 and {r["session_type"] for r in rows} == {"agent", "team", "workflow"}


def test_ownership_and_user_scoped_methods_like_in_memory_db() -> None:
    ours, theirs = SessionStoreDb(), InMemoryDb()
    for db in (ours, theirs):
        db.upsert_session(AgentSession(session_id="a", user_id="ava", agent_id="x", created_at=1))
        db.upsert_session(TeamSession(session_id="t", user_id="ben", team_id="y", created_at=2))
        db.upsert_session(AgentSession(session_id="free", agent_id="x", created_at=3))
    for db in (ours, theirs):
        name = type(db).__name__
        # Another user's session: None and nothing changed (null user_id included); an unowned one may be claimed.
        assert db.upsert_session(AgentSession(session_id="a", user_id="ben", agent_id="x")) is None, name
        assert db.upsert_session(AgentSession(session_id="a", agent_id="x", session_data={"k": 1})) is None, name
        a = db.get_session("a", SessionType.AGENT)
        assert a.user_id == "ava" and a.session_data is None, name
        assert db.upsert_session(AgentSession(session_id="free", user_id="cat", agent_id="x")).user_id == "cat"
        # upsert_sessions skips the refused sessions and stores the rest.
        got = db.upsert_sessions([
            AgentSession(session_id="a", user_id="ben", agent_id="x"),
            AgentSession(session_id="n1", user_id="ben", agent_id="x"),
            TeamSession(session_id="t", user_id="ava", team_id="y"),
            TeamSession(session_id="t", user_id="ben", team_id="y", session_data={"session_name": "ok"}),
        ])
        assert sorted(s.session_id for s in got) == ["n1", "t"], name
        assert db.get_session("a", SessionType.AGENT).user_id == "ava"
        assert db.get_session("t", SessionType.TEAM).session_data["session_name"] == "ok"
        # rename: only the given user's session.
        assert db.rename_session("a", SessionType.AGENT, "X", user_id="ben") is None, name
        assert db.rename_session("a", None, "Mine", user_id="ava").session_data["session_name"] == "Mine"
        assert db.rename_session("t", SessionType.TEAM, "Crew", user_id="ben", deserialize=False)["session_data"] == {"session_name": "Crew"}
        assert db.rename_session("t", None, "x", user_id="ava") is None
        # delete and delete_sessions: only the given user's sessions.
        assert db.delete_session("a", user_id="ben") is False and db.get_session("a") is not None, name
        assert db.delete_session("a", user_id="ava") is True and db.get_session("a") is None, name
        db.delete_sessions(["t", "n1", "free"], user_id="ben")  # free is cat's
        rows, total = db.get_sessions(deserialize=False)
        assert total == 1 and [r["session_id"] for r in rows] == ["free"], name
        db.delete_sessions(["free"])
        assert db.get_sessions(deserialize=False)[1] == 0


def test_upsert_sessions_preserve_updated_at_checks_owners_first() -> None:
    db = SessionStoreDb()
    db.upsert_session(AgentSession(session_id="mine", user_id="ava", agent_id="x"))
    before = db.get_session("mine", SessionType.AGENT, deserialize=False)
    got = db.upsert_sessions(
        [AgentSession(session_id="mine", user_id="ben", created_at=5, updated_at=6),
         AgentSession(session_id="new", user_id="ben", created_at=7, updated_at=8),
         WorkflowSession(session_id="wf", user_id="ben", workflow_id="w", created_at=9, updated_at=10)],
        preserve_updated_at=True, deserialize=False,
    )
    assert [(r["session_id"], r["created_at"], r["updated_at"]) for r in got] == [("new", 7, 8), ("wf", 9, 10)]
    assert db.get_session("mine", SessionType.AGENT, deserialize=False) == before


def test_get_sessions_across_types_is_one_query_of_agno_2_types() -> None:
    import sessionstore as ss

    with ss.Store() as base:
        base.share("workflow_v2").upsert({"session_id": "agno1-workflow"})  # an agno 1 type in a shared store
        db = SessionStoreDb(store=base)
        db.upsert_session(AgentSession(session_id="a", created_at=3))
        db.upsert_session(TeamSession(session_id="t", created_at=1))
        db.upsert_session(WorkflowSession(session_id="w", created_at=2))
        rows, total = db.get_sessions(deserialize=False, sort_by="created_at", sort_order="desc", limit=2, page=1)
        assert total == 3 and [r["session_id"] for r in rows] == ["a", "w"]
        objs = db.get_sessions(sort_by="created_at", sort_order="asc")
        assert [type(o).__name__ for o in objs] == ["TeamSession", "WorkflowSession", "AgentSession"]
        db.close()


def test_non_finite_metrics_are_stored_as_null() -> None:
    import sessionstore as ss

    nan, inf = float("nan"), float("inf")
    db = SessionStoreDb()
    saved = db.upsert_session(AgentSession(session_id="m", session_data={"session_metrics": {"t": nan, "u": -inf, "v": 0.5}}),
                              deserialize=False)
    assert saved["session_data"]["session_metrics"] == {"t": None, "u": None, "v": 0.5}
    assert db.get_session("m", SessionType.AGENT).session_data["session_metrics"]["t"] is None
    assert db.upsert_sessions([TeamSession(session_id="tm", metadata={"x": nan})], deserialize=False)[0]["metadata"] == {"x": None}
    with ss.Store() as strict:  # a store given with store= keeps its own setting: "reject" by default
        sdb = SessionStoreDb(store=strict)
        with pytest.raises(ss.InvalidJson, match="non_finite_numbers"):
            sdb.upsert_session(AgentSession(session_id="m", metadata={"x": nan}))
        sdb.close()
    with pytest.raises(ss.InvalidJson):
        SessionStoreDb(non_finite_numbers="reject").upsert_session(AgentSession(session_id="m", metadata={"x": inf}))


def test_bounds_pass_through_and_evicted_or_expired_sessions_are_none() -> None:
    import sessionstore as ss

    db = SessionStoreDb(max_sessions=2)
    assert db.store.stats()["bounds"]["max_sessions"] == 2
    db.upsert_session(AgentSession(session_id="a", agent_id="x"))
    db.upsert_session(TeamSession(session_id="t", team_id="y"))
    db.upsert_session(WorkflowSession(session_id="w", workflow_id="z"))  # evicts a: the bound counts every type
    assert db.get_session("a", SessionType.AGENT) is None
    rows, total = db.get_sessions(deserialize=False)
    assert total == 2 and sorted(r["session_id"] for r in rows) == ["t", "w"]
    db.close()
    old = SessionStoreDb(idle_expiry_s=3600)
    # Timestamps kept as given: last updated in 1970, expired as soon as stored, so nothing comes back.
    assert old.upsert_sessions([AgentSession(session_id="o", created_at=5, updated_at=6)], preserve_updated_at=True) == []
    assert old.get_session("o", SessionType.AGENT) is None and old.get_sessions(deserialize=False)[1] == 0
    old.close()
    full = SessionStoreDb(user_max_sessions=1, when_full="refuse")
    full.upsert_session(AgentSession(session_id="x", user_id="ava"))
    with pytest.raises(ss.Full):
        full.upsert_session(AgentSession(session_id="y", user_id="ava"))
    with pytest.raises(ss.Full):
        full.upsert_sessions([AgentSession(session_id="z", user_id="ben"), AgentSession(session_id="y", user_id="ava")])
    assert full.get_session("y", SessionType.AGENT) is None and full.get_session("z", SessionType.AGENT) is None
    full.close()
