"""Durable stores: path, sync, sync_interval_ms, compact_factor and compact_min_bytes; sessions read back
(in order) after closing and reopening the directory; one open store per directory (Locked); sync(); the
"durability" member of stats(); bad options; the I/O statuses as exceptions; the Agno drop-in on a path."""

import json
import os
import pathlib
import shutil
import tempfile
from typing import Iterator

import pytest

import sessionstore as ss
from sessionstore import Status, Store


@pytest.fixture
def durable_dir() -> Iterator[str]:
    """A fresh temporary directory, removed with its contents afterwards."""
    d = tempfile.mkdtemp(prefix="ss-python-durable-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_durable_statuses_and_classes() -> None:
    for cls, status, code in [
        (ss.IOFailure, Status.IO, "IO"),
        (ss.Locked, Status.LOCKED, "LOCKED"),
        (ss.Corrupt, Status.CORRUPT, "CORRUPT"),
        (ss.Poisoned, Status.POISONED, "POISONED"),
    ]:
        assert issubclass(cls, ss.SessionStoreError)
        assert cls.status == status and cls.code == code
        e = ss._errors.make_error(int(status), "m")
        assert type(e) is cls and e.status == status and e.code == code and e.message == "m"
    assert (Status.IO, Status.LOCKED, Status.CORRUPT, Status.POISONED) == (9, 10, 11, 12)


def test_reopen_reads_the_sessions_back_in_order(durable_dir: str) -> None:
    path = os.path.join(durable_dir, "store")  # created by the open
    s = Store(path=path)
    team = s.share("team")
    for sid in ["s3", "s1", "s2", "gone"]:
        s.upsert({"session_id": sid, "user_id": "ava", "memory": {"runs": [f"hello {sid}"]}})
    s.upsert({"session_id": "s1", "user_id": "ava", "memory": {"runs": ["hello s1", "again"]}})
    s.rename_session("s2", "Second")
    assert s.delete_session("gone") == 1
    s.upsert_many([{"session_id": "b1"}, {"session_id": "b2"}])
    team.upsert({"session_id": "t1", "team_id": "crew"})
    before = s.read_raw("s1", "ava")
    s.close()
    team.close()

    with Store(path=pathlib.Path(path)) as again:  # os.PathLike works too
        assert again.get_all_session_ids() == ["s3", "s1", "s2", "b1", "b2"]
        assert again.read_raw("s1", "ava") == before  # the stored bytes are kept
        assert again.read("s1")["memory"]["runs"] == ["hello s1", "again"]  # type: ignore[index]
        assert again.read("s2")["session_data"]["session_name"] == "Second"  # type: ignore[index]
        assert again.read("gone") is None
        t = again.share("team")
        assert t.get_all_session_ids() == ["t1"]
        t.close()
        durability = again.stats()["durability"]
        assert durability is not None
        recovery = durability["recovery"]
        assert recovery["journal_records"] + recovery["snapshot_records"] > 0


def test_versions_and_the_feed_go_on_across_a_reopen(durable_dir: str) -> None:
    # A durable store numbers its changes on across reopens; its feed holds the changes replayed from the
    # journal (since the last snapshot: none here), so a follower can resume after a restart.
    with Store(path=durable_dir) as s:
        s.upsert({"session_id": "a", "memory": {"runs": []}})
        s.append_runs("a", [{"run_id": "r1"}])
        s.upsert({"session_id": "gone"})
        s.delete_session_if("gone", s.read("gone")["version"])  # type: ignore[index]
        before, seq = s.export_with_seq()
        feed_before = s.changes(0)
    assert seq == 4 and before["a"]["version"] == 2
    with Store(path=durable_dir) as again:
        assert again.export_with_seq() == (before, seq)  # versions as stored, the same last change
        assert again.changes(0) == feed_before  # replayed from the journal
        with pytest.raises(ss.VersionMismatch):
            again.upsert_if({"session_id": "a"}, 1)
        assert again.append_runs("a", [{"run_id": "r2"}])["version"] == seq + 1
        assert [c["op"] for c in again.changes(seq)["changes"]] == ["upsert"]
        assert again.stats()["feed"]["latest"] == seq + 1


def test_a_durable_store_keeps_its_identity_across_reopens(durable_dir: str, tmp_path: pathlib.Path) -> None:
    # The identity is in the directory (the file IDENTITY): the same after every reopen, so that a follower
    # can go on from its number; a store in another directory, or in memory, has another.
    with Store(path=durable_dir) as s:
        s.upsert({"session_id": "a"})
        identity = s.stats()["feed"]["store"]
        assert len(identity) == 32 and int(identity, 16) >= 0
        assert s.changes(0)["store"] == identity
    with open(os.path.join(durable_dir, "IDENTITY"), encoding="ascii") as f:
        assert f.read().strip() == identity
    for _ in range(2):
        with Store(path=durable_dir) as again:
            assert again.stats()["feed"]["store"] == identity
            assert again.changes(0)["store"] == identity
            assert json.loads(again.changes_raw(1))["store"] == identity
            again.upsert({"session_id": "a"})
    with Store(path=str(tmp_path / "other")) as other, Store() as memory:
        others = {other.stats()["feed"]["store"], memory.changes(0)["store"]}
    assert len(others) == 2 and identity not in others


def test_a_directory_has_one_open_store_until_its_last_handle_closes(durable_dir: str) -> None:
    first = Store(path=durable_dir)
    with pytest.raises(ss.Locked) as e:
        Store(path=durable_dir)
    assert e.value.status == Status.LOCKED == 10 and e.value.code == "LOCKED" and durable_dir in str(e.value)
    shared = first.share()
    first.close()
    with pytest.raises(ss.Locked):
        Store("team", path=durable_dir)
    shared.close()
    Store(path=durable_dir).close()


@pytest.mark.parametrize("sync", [None, "always", "interval", "os"])
def test_sync_and_the_durability_stats(durable_dir: str, sync: "ss.SyncPolicy") -> None:
    with Store("workflow_v2", path=durable_dir, sync=sync) as s:
        s.upsert({"session_id": "w1", "runs": []})
        assert s.sync() is None
        st = s.stats()
        assert st["mode"] == "workflow_v2" and st["sessions"] == 1
        d = st["durability"]
        assert d is not None
        assert d["path"] == durable_dir and d["sync"] == (sync or "always")
        assert d["poisoned"] is False and d["last_compaction_error"] is None and d["journal_bytes"] > 0


def test_sync_in_memory_and_the_other_options(durable_dir: str) -> None:
    with Store() as mem:
        mem.sync()  # a no-op in memory
        assert mem.stats()["durability"] is None
    with Store.open(path=durable_dir, sync="interval", sync_interval_ms=20, compact_factor=3,
                    compact_min_bytes=0, non_finite_numbers="null") as s:
        s.upsert({"session_id": "a", "score": float("nan")})
        assert s.read("a")["score"] is None  # type: ignore[index]
        d = s.stats()["durability"]
        assert d is not None and d["sync"] == "interval"


def test_bad_durability_options(durable_dir: str) -> None:
    with pytest.raises(ss.InvalidArgument, match="sometimes"):
        Store(path=durable_dir, sync="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ss.InvalidArgument, match="path"):
        Store(path="")
    with pytest.raises(ss.InvalidArgument):
        Store(path="a\0b")
    for kwargs in [{"sync_interval_ms": 0}, {"compact_factor": 0}, {"compact_min_bytes": -1},
                   {"sync_interval_ms": 2**64}]:
        with pytest.raises(ss.InvalidArgument):
            Store(path=durable_dir, **kwargs)  # type: ignore[arg-type]
    for kwargs in [{"path": 42}, {"path": b"/tmp"}, {"sync": 1}, {"sync_interval_ms": 1.5},
                   {"compact_factor": True}]:
        with pytest.raises(ss.InvalidArgumentType):
            Store(**kwargs)  # type: ignore[arg-type]
    Store(path=durable_dir).close()  # nothing was left open by the failures


def test_io_and_corrupt_from_real_opens(durable_dir: str) -> None:
    file = os.path.join(durable_dir, "a-file")
    with open(file, "w") as f:
        f.write("x")
    with pytest.raises(ss.IOFailure) as e:
        Store(path=file)
    assert e.value.status == Status.IO and e.value.code == "IO"
    damaged = os.path.join(durable_dir, "damaged")
    os.mkdir(damaged)
    with open(os.path.join(damaged, "journal-0000000000000000.log"), "w") as f:
        f.write("garbage " * 8)
    with pytest.raises(ss.Corrupt, match="journal-") as c:
        Store(path=damaged)
    assert c.value.status == Status.CORRUPT


def test_agno_storage_on_a_durable_store(durable_dir: str) -> None:
    agno = pytest.importorskip("agno")
    del agno
    try:
        from sessionstore.agno import SessionStoreStorage
    except ImportError:
        pytest.skip("agno 1.x is not installed")
    storage = SessionStoreStorage(path=durable_dir)
    storage.store.upsert({"session_id": "x", "user_id": "ava"})
    storage.close()
    again = SessionStoreStorage(path=durable_dir)
    assert again.get_all_session_ids() == ["x"]
    again.close()
