"""0.3: versions and compare-and-set (upsert_if, rename_session_if, delete_session_if), atomic appends
(append_runs) from many threads, the change feed (changes, export_with_seq), feed_bytes and the feed
member of stats(), and the two new statuses (VersionMismatch, FeedTruncated)."""

import json
import os
import threading
from typing import Any, Dict, List

import pytest

import sessionstore as ss
from sessionstore import Status, Store

# --- concurrency: threads really run in the library at once (ctypes.CDLL releases the GIL) -----------

N_THREADS = 8
RUNS_PER_THREAD = 60


def _check_runs(runs: List[Dict[str, Any]], n: int, m: int) -> int:
    """Exactly n*m runs, each thread's in that thread's order; returns how often the writer changes
    between neighbours (n - 1 when the threads ran one after another, more when they interleaved)."""
    assert len(runs) == n * m, f"{len(runs)} runs stored, {n * m} appended"
    for t in range(n):
        assert [r["i"] for r in runs if r["thread"] == t] == list(range(m)), f"thread {t}'s runs out of order"
    return sum(1 for a, b in zip(runs, runs[1:]) if a["thread"] != b["thread"])


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def test_concurrent_appends_all_land_in_each_threads_order() -> None:
    # N threads append M runs each to one session, one append_runs call per run, all released at once by a
    # barrier. Half use the store's handle, half a handle shared from it: appends from any thread and any
    # handle all land. Each call releases the GIL (ctypes.CDLL), so the appends meet in the library, whose
    # write lock orders them; the interleaving of the threads' runs in the result shows they did.
    interleaved = 0
    for _attempt in range(3):
        with Store() as s:
            first = s.upsert({"session_id": "shared", "user_id": "ava", "memory": {"runs": []}})
            handles = [s if t % 2 == 0 else s.share() for t in range(N_THREADS)]
            barrier = threading.Barrier(N_THREADS)
            errors: List[BaseException] = []

            def agent(t: int) -> None:
                h = handles[t]
                try:
                    barrier.wait()
                    for i in range(RUNS_PER_THREAD):
                        h.append_runs("shared", [{"thread": t, "i": i}], "ava", return_stored=False)
                except BaseException as e:  # pragma: no cover - reported below
                    errors.append(e)

            threads = [threading.Thread(target=agent, args=(t,)) for t in range(N_THREADS)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            assert errors == []
            stored = s.read("shared")
            assert stored is not None
            switches = _check_runs(stored["memory"]["runs"], N_THREADS, RUNS_PER_THREAD)
            # Every append is one change: the session's version counts them on from the first upsert.
            assert stored["version"] == first["version"] + N_THREADS * RUNS_PER_THREAD
            assert stored["user_id"] == "ava" and stored["created_at"] == first["created_at"]
            for h in handles:
                if h is not s:
                    h.close()
        interleaved = max(interleaved, switches)
        if interleaved > N_THREADS - 1:
            break
    print(f"writer switches between neighbouring runs: {interleaved} ({_cores()} cores)")
    if _cores() >= 2:
        assert interleaved > N_THREADS - 1, "the threads' appends never interleaved: are calls serialised?"


def test_concurrent_cas_retry_loop_loses_nothing() -> None:
    # The read-modify-write way: read the session and its version, add one run, upsert_if with the version
    # read, and on VersionMismatch read again and retry. Nothing is lost, whatever the interleaving.
    n, m = 4, 50
    with Store() as s:
        s.upsert({"session_id": "cas", "memory": {"runs": []}})
        barrier = threading.Barrier(n)
        retries = [0] * n
        errors: List[BaseException] = []

        def agent(t: int) -> None:
            try:
                barrier.wait()
                for i in range(m):
                    while True:
                        session = s.read("cas")
                        assert session is not None
                        session["memory"]["runs"].append({"thread": t, "i": i})
                        try:
                            s.upsert_if(session, session["version"], return_stored=False)
                            break
                        except ss.VersionMismatch:
                            retries[t] += 1
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=agent, args=(t,)) for t in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        stored = s.read("cas")
        assert stored is not None
        _check_runs(stored["memory"]["runs"], n, m)
        # Only successful writes are changes: one per run, after the first upsert.
        assert stored["version"] == 1 + n * m and s.stats()["feed"]["latest"] == 1 + n * m
        print(f"compare-and-set retries: {sum(retries)} for {n * m} runs")


# --- versions and compare-and-set ---------------------------------------------------------------------


def test_versions_increase_with_every_write(store: Store) -> None:
    team = store.share("team")
    seen: List[int] = []
    seen.append(store.upsert({"session_id": "v", "user_id": "ava"})["version"])
    team.upsert({"session_id": "other"})  # a change to another session moves the numbers on
    seen.append(store.upsert({"session_id": "v", "user_id": "ava"})["version"])
    seen.append(store.rename_session("v", "Named")["version"])
    seen.append(store.append_runs("v", [{"run_id": "r"}])["version"])
    seen.append(store.upsert_many([{"session_id": "v", "user_id": "ava"}])[0]["version"])
    seen.append(store.upsert_if({"session_id": "v", "user_id": "ava"}, seen[-1])["version"])
    seen.append(store.rename_session_if("v", "Again", seen[-1])["version"])
    store.import_({"v": {"session_id": "v", "user_id": "ava", "version": 1}})  # a given version is replaced
    seen.append(store.read("v")["version"])  # type: ignore[index]
    assert seen == sorted(seen) and len(set(seen)) == len(seen), seen
    assert seen[0] == 1 and seen[1] == 3  # the number of the change that last wrote it, not a count of writes
    assert store.read("v")["version"] == seen[-1] == store.stats()["feed"]["latest"]  # type: ignore[index]
    # The version is where the store put it (appended at the end when absent, kept in place when present).
    raw = store.upsert_raw(b'{"version":null,"session_id":"w"}')
    assert raw.startswith(b'{"version":') and json.loads(raw)["version"] == seen[-1] + 1
    assert list(store.upsert({"session_id": "x"}))[-1] == "version"
    # An input version must be None or a non-negative integer (it is replaced anyway).
    for bad in (-1, "3", 1.5, True, {}):
        with pytest.raises(ss.InvalidSession):
            store.upsert({"session_id": "x", "version": bad})
    team.close()


def test_upsert_if(store: Store) -> None:
    created = store.upsert_if({"session_id": "c", "user_id": "ava", "n": 1}, 0)  # 0: create only
    assert created["n"] == 1 and created["version"] >= 1
    with pytest.raises(ss.VersionMismatch) as e:
        store.upsert_if({"session_id": "c", "user_id": "ava", "n": 2}, 0)  # exists already
    assert e.value.status == Status.VERSION_MISMATCH == 13 and e.value.code == "VERSION_MISMATCH"
    assert isinstance(e.value, ss.SessionStoreError) and '"c"' in e.value.message
    updated = store.upsert_if(dict(created, n=3), created["version"])  # the session as read, version and all
    assert updated["n"] == 3 and updated["version"] > created["version"]
    before = store.read("c")
    for stale in (created["version"], updated["version"] + 1, ss._store.UINT64_MAX):
        with pytest.raises(ss.VersionMismatch):
            store.upsert_if({"session_id": "c", "user_id": "ava", "n": 4}, stale)
        with pytest.raises(ss.VersionMismatch):
            store.upsert_if_raw(b'{"session_id":"c","user_id":"ava","n":4}', stale, return_stored=False)
    assert store.read("c") == before and store.stats()["feed"]["latest"] == updated["version"]  # nothing changed
    with pytest.raises(ss.VersionMismatch):
        store.upsert_if({"session_id": "absent"}, 5)  # absent: version 0
    assert store.read("absent") is None
    raw = store.upsert_if_raw('{"session_id":"r"}', 0)
    assert isinstance(raw, bytes) and json.loads(raw)["session_id"] == "r"
    assert store.upsert_if({"session_id": "q"}, 0, return_stored=False) is None and store.exists("q")
    # Type and owner are checked before the version.
    store.share("team").upsert({"session_id": "t"})
    with pytest.raises(ss.Conflict):
        store.upsert_if({"session_id": "t"}, 0)
    with pytest.raises(ss.PermissionDenied):
        store.upsert_if({"session_id": "c", "user_id": "ben"}, 12345)


def test_rename_and_delete_if(store: Store) -> None:
    s = store.upsert({"session_id": "s", "user_id": "ava"})
    v = s["version"]
    with pytest.raises(ss.VersionMismatch):
        store.rename_session_if("s", "Stale", v + 1)
    with pytest.raises(ss.VersionMismatch):
        store.rename_session_if_raw("s", "Stale", v + 1, "ava")
    assert store.read("s") == s
    with pytest.raises(ss.VersionMismatch):
        store.rename_session_if("s", "x", 0)  # it exists: not at version 0
    with pytest.raises(ss.NotFound):
        store.rename_session_if("absent", "x", 0)  # not visible: version 0, so NOT_FOUND
    with pytest.raises(ss.VersionMismatch):
        store.rename_session_if("s", "x", v, user_id="ben")  # another user's: not visible, at version 0
    with pytest.raises(ss.NotFound):
        store.rename_session_if("s", "x", 0, user_id="ben")
    renamed = store.rename_session_if("s", "Mine", v, "ava")
    assert renamed["session_data"] == {"session_name": "Mine"} and renamed["version"] > v
    assert json.loads(store.rename_session_if_raw("s", "Raw", renamed["version"]))["session_data"]["session_name"] == "Raw"
    v = store.read("s")["version"]  # type: ignore[index]
    with pytest.raises(ss.VersionMismatch):
        store.delete_session_if("s", v - 1)
    assert store.exists("s")
    with pytest.raises(ss.VersionMismatch):
        store.delete_session_if("s", v, "ben")  # another user's: not visible, so at version 0
    assert store.delete_session_if("s", 0, "ben") == 0 and store.exists("s")
    assert store.delete_session_if("s", v, "ava") == 1 and not store.exists("s")
    assert store.delete_session_if("s", 0) == 0  # 0: must not exist, and it does not
    with pytest.raises(ss.VersionMismatch):
        store.delete_session_if("s", v)  # gone: its version is 0 now
    store.upsert({"session_id": "n"})
    with pytest.raises(ss.VersionMismatch):
        store.delete_session_if("n", 0)


def test_expected_version_and_feed_arguments_are_checked(store: Store) -> None:
    store.upsert({"session_id": "a"})
    for bad in (-1, 2**64):
        with pytest.raises(ss.InvalidArgument):
            store.upsert_if({"session_id": "a"}, bad)
        with pytest.raises(ss.InvalidArgument):
            store.rename_session_if("a", "n", bad)
        with pytest.raises(ss.InvalidArgument):
            store.delete_session_if("a", bad)
        with pytest.raises(ss.InvalidArgument):
            store.changes(bad)
    for bad_type in (1.0, True, "1", None):
        with pytest.raises(ss.InvalidArgumentType):
            store.upsert_if({"session_id": "a"}, bad_type)  # type: ignore[arg-type]
        with pytest.raises(ss.InvalidArgumentType):
            store.delete_session_if("a", bad_type)  # type: ignore[arg-type]
        with pytest.raises(ss.InvalidArgumentType):
            store.changes(bad_type)  # type: ignore[arg-type]
    with pytest.raises(ss.InvalidArgument):
        store.changes(0, 0)  # limit is at least 1
    with pytest.raises(ss.InvalidArgument):
        store.changes(0, -1)
    with pytest.raises(ss.InvalidArgumentType):
        store.changes(0, ids_only=1)  # type: ignore[arg-type]
    assert len(store.changes(0, 2**64 - 1)["changes"]) == 1  # capped by the library, not an error
    with pytest.raises(ss.VersionMismatch):
        store.delete_session_if("a", 2**64 - 1)

    class Idx:
        def __index__(self) -> int:
            return 1

    assert store.delete_session_if("a", Idx()) == 1  # type: ignore[arg-type]
    assert store.read("a") is None


def test_append_runs(store: Store) -> None:
    store.upsert({"session_id": "a", "user_id": "ava", "memory": {"summary": "kept"}, "z": 1})
    got = store.append_runs("a", [{"run_id": "r1"}, {"run_id": "r2"}])
    assert got["memory"] == {"summary": "kept", "runs": [{"run_id": "r1"}, {"run_id": "r2"}]} and got["z"] == 1
    got = store.append_runs("a", iter([{"run_id": "r3"}]), user_id="ava")
    assert [r["run_id"] for r in got["memory"]["runs"]] == ["r1", "r2", "r3"]
    raw = store.append_runs_raw("a", b'[{"run_id":"r4"}]')
    assert isinstance(raw, bytes) and json.loads(raw)["memory"]["runs"][-1] == {"run_id": "r4"}
    assert store.append_runs_raw("a", '["r5"]', "ava", return_stored=False) is None
    assert store.append_runs("a", [6], return_stored=False) is None
    assert store.read("a")["memory"]["runs"][-2:] == ["r5", 6]  # type: ignore[index]
    store.upsert({"session_id": "fresh"})  # no memory: created
    assert store.append_runs("fresh", [1])["memory"] == {"runs": [1]}
    with Store("workflow_v2") as wf:  # workflow_v2 keeps its runs at the top level
        wf.upsert({"session_id": "w", "runs": None})
        assert wf.append_runs("w", [{"step": 1}])["runs"] == [{"step": 1}]
    before = store.read("a")
    with pytest.raises(ss.NotFound):
        store.append_runs("a", [7], user_id="ben")
    with pytest.raises(ss.NotFound):
        store.append_runs("missing", [7])
    with pytest.raises(ss.InvalidArgument):
        store.append_runs("a", [])  # nothing to append
    with pytest.raises(ss.InvalidArgument):
        store.append_runs_raw("a", b'{"run_id":"x"}')  # not an array
    with pytest.raises(ss.InvalidJson):
        store.append_runs_raw("a", b"[1,")
    with pytest.raises(ss.InvalidJson):
        store.append_runs("a", [float("nan")])  # a store that rejects non-finite numbers
    for bad in ("runs", b"[1]", {"run_id": "x"}, 5):
        with pytest.raises(ss.InvalidArgumentType):
            store.append_runs("a", bad)  # type: ignore[arg-type]
    store.upsert({"session_id": "bad", "memory": {"runs": "not a list"}})
    with pytest.raises(ss.InvalidSession):
        store.append_runs("bad", [1])
    assert store.read("a") == before  # nothing changed by the failures
    with Store(max_session_bytes=200) as small:
        small.upsert({"session_id": "s"})
        with pytest.raises(ss.TooLarge):
            small.append_runs("s", ["x" * 300])
    with Store(non_finite_numbers="null") as lax:
        lax.upsert({"session_id": "n"})
        assert lax.append_runs("n", [{"t": float("inf")}])["memory"]["runs"] == [{"t": None}]


# --- the change feed ----------------------------------------------------------------------------------


def test_changes_in_order_with_ids_only_and_paging(store: Store) -> None:
    team = store.share("team")
    store.upsert({"session_id": "a", "user_id": "ava"})
    team.upsert({"session_id": "t"})
    store.append_runs("a", [1])
    store.upsert_many([{"session_id": "b"}, {"session_id": "c"}])
    assert store.delete_session("b") == 1
    assert team.drop() == 1
    feed = store.changes(0)
    changes = feed["changes"]
    assert [c["seq"] for c in changes] == list(range(1, 8)) and feed["next"] == 7 == feed["latest"]
    assert [(c["op"], c["session_type"], c.get("session_id")) for c in changes] == [
        ("upsert", "agent", "a"), ("upsert", "team", "t"), ("upsert", "agent", "a"), ("upsert", "agent", "b"),
        ("upsert", "agent", "c"), ("delete", "agent", "b"), ("drop", "team", None),
    ]  # every type, whatever the handle's mode; a batch is one change per session
    third = changes[2]
    assert third["op"] == "upsert"
    assert third["version"] == 3 == third["session"]["version"] and third["session"]["memory"] == {"runs": [1]}
    assert set(changes[5]) == {"seq", "op", "session_type", "session_id"}
    assert set(changes[6]) == {"seq", "op", "session_type"}
    ids = store.changes(0, ids_only=True)["changes"]
    assert all("session" not in c for c in ids)
    assert [{k: v for k, v in c.items() if k != "session"} for c in changes] == ids
    # Paging with limit and next; nothing new: no changes and next == after.
    seen: List[int] = []
    after = 0
    while True:
        page = store.changes(after, 3)
        assert len(page["changes"]) <= 3 and page["latest"] == 7
        if not page["changes"]:
            assert page["next"] == after
            break
        seen += [c["seq"] for c in page["changes"]]
        after = page["next"]
    assert seen == list(range(1, 8))
    identity = feed["store"]
    assert _is_store_id(identity) and team.changes(0)["store"] == identity
    raw = store.changes_raw(5, 1, ids_only=True)
    assert json.loads(raw) == {"changes": [ids[5]], "next": 6, "latest": 7, "store": identity}
    assert json.loads(store.changes_raw(7)) == {"changes": [], "next": 7, "latest": 7, "store": identity}
    assert store.changes_raw(7) == b'{"changes":[],"next":7,"latest":7,"store":"%s"}' % identity.encode()
    team.close()


def test_small_feed_is_truncated_and_says_so() -> None:
    with Store(feed_bytes=2000) as s:
        for i in range(40):
            s.upsert({"session_id": f"s{i}", "pad": "x" * 100})
        feed = s.stats()["feed"]
        assert feed["budget"] == 2000 and feed["latest"] == 40 and 0 < feed["kept"] < 40
        assert feed["oldest"] == 40 - feed["kept"] + 1 and 0 < feed["bytes"] <= 2000
        with pytest.raises(ss.FeedTruncated) as e:
            s.changes(0)
        assert e.value.status == Status.FEED_TRUNCATED == 14 and e.value.code == "FEED_TRUNCATED"
        assert isinstance(e.value, ss.SessionStoreError)
        with pytest.raises(ss.FeedTruncated):
            s.changes_raw(feed["oldest"] - 2)
        kept = s.changes(feed["oldest"] - 1)["changes"]  # the oldest kept is still there
        assert [c["seq"] for c in kept] == list(range(feed["oldest"], 41))
        with pytest.raises(ss.FeedTruncated):
            s.changes(41)  # a number this store never reached (another life of an in-memory store)
    with Store(feed_bytes=0) as none:
        none.upsert({"session_id": "a"})
        identity = none.stats()["feed"]["store"]
        assert none.changes(1) == {"changes": [], "next": 1, "latest": 1, "store": identity}
        with pytest.raises(ss.FeedTruncated):
            none.changes(0)
        assert none.stats()["feed"] == {
            "store": identity, "latest": 1, "oldest": 2, "kept": 0, "bytes": 0, "budget": 0,
        }
    with Store() as default:
        assert default.stats()["feed"]["budget"] == ss.DEFAULT_FEED_BYTES == 16 * 1024 * 1024
    with pytest.raises(ss.InvalidArgument):
        Store(feed_bytes=-1)
    with pytest.raises(ss.InvalidArgumentType):
        Store(feed_bytes=1.5)  # type: ignore[arg-type]


def _apply(mirror: Dict[str, Dict[str, Any]], changes: List[ss.Change]) -> None:
    for c in changes:
        if c["op"] == "upsert":
            mirror[c["session_id"]] = c["session"]
        elif c["op"] == "drop":
            for sid in [k for k, v in mirror.items() if v["session_type"] == c["session_type"]]:
                del mirror[sid]
        else:  # delete, expire, evict
            mirror.pop(c["session_id"], None)


def test_export_with_seq_then_feed_mirrors_the_store(store: Store) -> None:
    team, wf = store.share("team"), store.share("workflow")
    store.upsert({"session_id": "early", "user_id": "ava"})
    team.upsert({"session_id": "crew"})
    mirror, seq = store.export_with_seq()
    assert seq == 2 and set(mirror) == {"early", "crew"}
    raw, raw_seq = store.export_with_seq_raw()
    assert isinstance(raw, bytes) and json.loads(raw) == mirror and raw_seq == seq
    # Writers run while the follower follows: whatever it sees, it ends equal to a fresh export.
    stop = threading.Event()
    errors: List[BaseException] = []

    def writer(h: Store, prefix: str) -> None:
        try:
            i = 0
            while not stop.is_set() or i < 200:
                sid = f"{prefix}{i % 25}"
                op = i % 7
                if op == 5:
                    h.delete_session(sid)
                elif op == 6 and h.exists(sid):
                    h.append_runs(sid, [i])
                elif op == 4 and i % 50 == 4:
                    h.drop()
                else:
                    h.upsert({"session_id": sid, "n": i})
                i += 1
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(h, p)) for h, p in ((store, "a"), (team, "t"), (wf, "w"))]
    for th in threads:
        th.start()
    for _ in range(200):
        page = store.changes(seq, 50)
        _apply(mirror, page["changes"])
        seq = page["next"]
    stop.set()
    for th in threads:
        th.join()
    assert errors == []
    store.upsert({"session_id": "early", "user_id": "ava"})  # the writers' drops may have removed it
    store.rename_session("early", "Renamed")
    store.import_({"imported": {"session_id": "imported"}})
    assert store.delete_sessions(["a1", "a2", "a3"]) >= 0
    while True:
        page = store.changes(seq)
        if not page["changes"]:
            break
        _apply(mirror, page["changes"])
        seq = page["next"]
    fresh, fresh_seq = store.export_with_seq()
    assert seq == fresh_seq == store.stats()["feed"]["latest"]
    assert mirror == fresh == store.export()
    team.close()
    wf.close()


def test_status_table_and_exception_classes() -> None:
    for cls, status, code in [(ss.VersionMismatch, Status.VERSION_MISMATCH, "VERSION_MISMATCH"),
                              (ss.FeedTruncated, Status.FEED_TRUNCATED, "FEED_TRUNCATED")]:
        assert issubclass(cls, ss.SessionStoreError) and cls.status == status and cls.code == code
        e = ss._errors.make_error(int(status), "m")
        assert type(e) is cls and e.status == status and e.code == code and e.message == "m"
    assert (Status.VERSION_MISMATCH, Status.FEED_TRUNCATED) == (13, 14)
    texts = {int(e[0]): (e[1], e[2]) for e in ss.STATUS_TABLE}
    assert texts[13] == ("version mismatch", ss.VersionMismatch) and texts[14] == ("feed truncated", ss.FeedTruncated)


def test_stats_feed_member(store: Store) -> None:
    feed = store.stats()["feed"]
    assert list(feed) == ["store", "latest", "oldest", "kept", "bytes", "budget"]
    assert feed == {
        "store": store.changes(0)["store"], "latest": 0, "oldest": 1, "kept": 0, "bytes": 0,
        "budget": ss.DEFAULT_FEED_BYTES,
    }
    store.upsert({"session_id": "a"})
    store.delete_session("a")
    feed = store.stats()["feed"]
    assert (feed["latest"], feed["oldest"], feed["kept"]) == (2, 1, 2) and feed["bytes"] > 2 * 48
    assert json.loads(store.stats_raw())["feed"] == feed


# --- the store's identity -------------------------------------------------------------------------------


def _is_store_id(identity: object) -> bool:
    return isinstance(identity, str) and len(identity) == 32 and all(c in "0123456789abcdefABCDEF" for c in identity)


def store_id(s: Store) -> str:
    """The store's identity, checked: 32 hexadecimal digits, the same in changes(), changes_raw(), stats()
    and stats_raw()."""
    feed = s.stats()["feed"]
    identity = feed["store"]
    assert _is_store_id(identity), feed
    latest = feed["latest"]
    assert s.changes(latest)["store"] == identity
    assert s.changes(latest, ids_only=True)["store"] == identity
    assert json.loads(s.changes_raw(latest))["store"] == identity
    assert json.loads(s.stats_raw())["feed"]["store"] == identity
    return identity


def test_store_identity_is_one_per_store_and_new_for_a_store_made_anew(store: Store) -> None:
    identity = store_id(store)
    team = store.share("team")
    team.upsert({"session_id": "t"})
    store.upsert({"session_id": "a"})
    assert store_id(team) == identity == store_id(store)  # every handle, and writes do not change it
    team.close()
    # A store made anew has another identity, even loaded from this one's export (same sessions, same
    # numbers): its numbers are its own.
    data, seq = store.export_with_seq()
    with Store() as copy:
        copy.import_(data)
        assert copy.stats()["feed"]["latest"] == seq
        copied = store_id(copy)
    with Store() as a, Store("team") as b:
        identities = [identity, copied, store_id(a), store_id(b)]
    assert len(set(identities)) == len(identities), identities
