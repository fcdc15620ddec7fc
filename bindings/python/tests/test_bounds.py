"""0.4: bounded memory. The bounds as keyword arguments of Store (checked here or by the library) and in
stats()["bounds"]; idle expiry and maximum age, tested through timestamps (import and upsert of sessions
from 1970), never by waiting; eviction of the least recently written with "evict" changes in the feed;
refusal with Full under when_full="refuse"; the FULL status. No test here sleeps."""

import json
from typing import Any, Dict, List

import pytest

import sessionstore as ss
from sessionstore import Status, Store

BOUND_KEYS = [
    "sessions", "bytes", "max_sessions", "max_bytes", "user_max_sessions", "user_max_bytes",
    "idle_expiry_s", "max_age_s", "refresh_on_read", "when_full", "expired", "evicted",
]
OLD = 1000  # unix seconds in 1970: long expired under any bound of an hour


def ids(store: Store) -> List[str]:
    return store.get_all_session_ids()


def feed(store: Store) -> List[Any]:
    return [(c["op"], c.get("session_id")) for c in store.changes(0, ids_only=True)["changes"]]


# --- 1. the options ------------------------------------------------------------------------------------


def test_default_store_has_no_bounds(store: Store) -> None:
    st = store.stats()
    assert list(st) == ["mode", "sessions", "bytes", "by_type", "feed", "bounds", "durability"]
    assert list(st["bounds"]) == BOUND_KEYS
    assert st["bounds"] == {
        "sessions": 0, "bytes": 0, "max_sessions": None, "max_bytes": None, "user_max_sessions": None,
        "user_max_bytes": None, "idle_expiry_s": None, "max_age_s": None, "refresh_on_read": False,
        "when_full": "evict", "expired": 0, "evicted": 0,
    }
    store.upsert({"session_id": "a"})
    st = store.stats()
    assert (st["bounds"]["sessions"], st["bounds"]["bytes"]) == (st["sessions"], st["bytes"]) == (1, st["bytes"])
    assert json.loads(store.stats_raw())["bounds"] == st["bounds"]


def test_bounds_round_trip_through_stats() -> None:
    config: Dict[str, Any] = dict(
        idle_expiry_s=3600, max_age_s=86400, refresh_on_read=True, max_sessions=1000, max_bytes=1 << 20,
        user_max_sessions=10, user_max_bytes=65536, when_full="refuse",
    )
    with Store(**config) as s:
        bounds = s.stats()["bounds"]
        assert {k: bounds[k] for k in config} == config  # type: ignore[literal-required]
        assert (bounds["sessions"], bounds["expired"], bounds["evicted"]) == (0, 0, 0)
        team = s.share("team")  # the bounds are the store's: every handle reports them
        assert team.stats()["bounds"] == bounds
        team.close()
    with Store.open("team", max_sessions=5, when_full="evict") as s:  # Store.open takes them too
        assert (s.stats()["bounds"]["max_sessions"], s.stats()["bounds"]["when_full"]) == (5, "evict")
    # 0 is no bound (null in stats), like None; refresh_on_read=False is the default.
    zero = dict(idle_expiry_s=0, max_age_s=0, max_sessions=0, max_bytes=0, user_max_sessions=0, user_max_bytes=0)
    with Store(refresh_on_read=False, **zero) as s:  # type: ignore[arg-type]
        bounds = s.stats()["bounds"]
        assert all(bounds[k] is None for k in zero) and bounds["refresh_on_read"] is False  # type: ignore[literal-required]
    # The largest values the C types take.
    big = dict(max_sessions=2**64 - 1, max_bytes=2**64 - 1, user_max_sessions=2**64 - 1, user_max_bytes=2**64 - 1)
    with Store(**big) as s:  # type: ignore[arg-type]
        s.upsert({"session_id": "a", "user_id": "u"})
        assert {k: s.stats()["bounds"][k] for k in big} == big  # type: ignore[literal-required]
    with Store(idle_expiry_s=2**64 - 1, max_age_s=2**64 - 1) as s:
        s.upsert({"session_id": "a"})
        assert s.read("a") is not None


@pytest.mark.parametrize(
    "key", ["idle_expiry_s", "max_age_s", "max_sessions", "max_bytes", "user_max_sessions", "user_max_bytes"]
)
def test_numeric_bounds_are_checked_against_their_c_type(key: str) -> None:
    for bad in (-1, 2**64, -(2**63)):
        with pytest.raises(ss.InvalidArgument) as e:
            Store(**{key: bad})  # type: ignore[arg-type]
        assert e.value.status == Status.INVALID_ARGUMENT and key in e.value.message
    for bad_type in (1.5, True, "10", [1]):
        with pytest.raises(ss.InvalidArgumentType):
            Store(**{key: bad_type})  # type: ignore[arg-type]

    class Idx:
        def __index__(self) -> int:
            return 7

    with Store(**{key: Idx()}) as s:  # type: ignore[arg-type]
        assert s.stats()["bounds"][key] == 7  # type: ignore[literal-required]


def test_bad_bound_options_are_invalid_argument() -> None:
    # From the library: refresh_on_read needs idle_expiry_s; an unknown when_full.
    for bad in (dict(refresh_on_read=True), dict(refresh_on_read=True, max_age_s=60, max_sessions=3)):
        with pytest.raises(ss.InvalidArgument) as e:
            Store(**bad)  # type: ignore[arg-type]
        assert e.value.status == Status.INVALID_ARGUMENT == 2 and "refresh_on_read" in e.value.message
    for when_full in ("later", "EVICT", ""):
        with pytest.raises(ss.InvalidArgument) as e:
            Store(when_full=when_full)  # type: ignore[arg-type]
        assert "when_full" in e.value.message
    # In the binding: the types.
    with pytest.raises(ss.InvalidArgumentType):
        Store(when_full=1)  # type: ignore[arg-type]
    for not_bool in (1, 0, "true"):
        with pytest.raises(ss.InvalidArgumentType):
            Store(idle_expiry_s=60, refresh_on_read=not_bool)  # type: ignore[arg-type]


def test_size_arguments_stop_at_size_max() -> None:
    """SIZE_MAX is the C size_t's (it was once computed from the Python object's size, which let
    changes(limit=2**64 + 1) reach C wrapped to 1)."""
    assert ss._store.SIZE_MAX == 2**64 - 1
    with Store() as s:
        s.upsert({"session_id": "a"})
        s.upsert({"session_id": "b"})
        with pytest.raises(ss.InvalidArgument):
            s.changes(0, 2**64 + 1)
        assert len(s.changes(0, 2**64 - 1)["changes"]) == 2
    with pytest.raises(ss.InvalidArgument) as e:
        Store(feed_bytes=2**64)
    assert "feed_bytes must be an integer from 0 to 18446744073709551615" in e.value.message


# --- 2. expiry, without waiting ------------------------------------------------------------------------


def test_idle_session_is_gone_for_every_call_until_reclaimed() -> None:
    with Store(idle_expiry_s=3600) as s:
        team = s.share("team")
        assert s.import_({"old": {"session_id": "old", "user_id": "u", "agent_id": "x", "updated_at": OLD}}) == 1
        assert s.read("old") is None and s.read_raw("old") is None and s.read("old", "u") is None
        assert not s.exists("old")
        assert ids(s) == [] and s.get_all_session_ids("u", "x") == [] and s.get_all_sessions() == []
        assert s.get_recent_sessions(limit=None) == []
        assert s.query(session_type="any")["total"] == 0 and s.query(user_id="u")["sessions"] == []
        assert s.export() == {} and s.export_with_seq()[0] == {} and json.loads(s.export_raw()) == {}
        assert team.query(session_type="any") == {"sessions": [], "total": 0}
        with pytest.raises(ss.NotFound):
            s.rename_session("old", "n")
        with pytest.raises(ss.NotFound):
            s.append_runs("old", [1])
        assert s.delete_session("old") == 0
        # Counted until the library's reclaimer (a thread, within about a second) removes it; then the
        # feed says "expire". Either way, now: held + reclaimed == 1.
        bounds = s.stats()["bounds"]
        assert bounds["sessions"] + bounds["expired"] == 1 and s.stats()["sessions"] == bounds["sessions"]
        assert ("expire", "old") in feed(s) or bounds["sessions"] == 1
        # A fresh session alongside is there; a write of the expired id stores a new session in its place.
        fresh = s.upsert({"session_id": "new", "user_id": "u"})
        assert s.read("new") == fresh and ids(s) == ["new"]
        again = s.upsert({"session_id": "old", "user_id": "u"})
        assert again["created_at"] > OLD and s.read("old") == again and sorted(ids(s)) == ["new", "old"]
        team.close()


def test_import_keeps_timestamps_so_an_export_from_long_ago_expires() -> None:
    with Store() as source:
        source.import_({"a": {"session_id": "a", "updated_at": OLD}, "b": {"session_id": "b"}})
        data = source.export()
    assert data["a"]["updated_at"] == OLD
    with Store(idle_expiry_s=3600) as s:
        assert s.import_(data) == 2
        assert ids(s) == ["b"] and list(s.export()) == ["b"]


def test_max_age_expires_by_created_at_however_active() -> None:
    with Store(max_age_s=3600) as s:
        stored = s.upsert({"session_id": "aged", "created_at": OLD})  # the write returns what it stored
        assert stored["created_at"] == OLD and stored["updated_at"] > OLD
        assert s.read("aged") is None and ids(s) == [] and s.export() == {}
        young = s.upsert({"session_id": "young"})
        assert s.read("young") == young
        with pytest.raises(ss.NotFound):
            s.append_runs("aged", [{"run_id": "r"}])  # however recently written, it is past its age
    with Store(max_age_s=3600, idle_expiry_s=3600) as s:  # both bounds
        s.import_({"x": {"session_id": "x", "created_at": OLD}})  # updated_at now, created_at old
        assert s.read("x") is None


def test_refresh_on_read_store_reads_and_lists_as_usual() -> None:
    with Store(idle_expiry_s=3600, refresh_on_read=True) as s:
        saved = s.upsert({"session_id": "a"})
        assert s.read("a") == saved and s.exists("a") and ids(s) == ["a"]
        s.import_({"old": {"session_id": "old", "updated_at": OLD}})
        assert s.read("old") is None  # a read does not bring back an expired session


# --- 3. eviction ---------------------------------------------------------------------------------------


def test_max_sessions_evicts_the_least_recently_written() -> None:
    with Store(max_sessions=3) as s:
        for sid in ["a", "b", "c", "a", "d"]:
            s.upsert({"session_id": sid})
        assert ids(s) == ["a", "c", "d"] and s.read("b") is None
        changes = s.changes(0, ids_only=True)["changes"]
        evictions = [c for c in changes if c["op"] == "evict"]
        assert len(evictions) == 1 and evictions[0]["session_id"] == "b"
        assert set(evictions[0]) == {"seq", "op", "session_type", "session_id"}
        assert evictions[0]["session_type"] == "agent"
        assert [c["op"] for c in s.changes(0)["changes"]] == ["upsert"] * 5 + ["evict"]
        bounds = s.stats()["bounds"]
        assert (bounds["evicted"], bounds["expired"], bounds["sessions"], bounds["max_sessions"]) == (1, 0, 3, 3)


def test_bounds_count_every_type_and_evictions_follow_the_feed() -> None:
    with Store(max_sessions=2) as s:
        team = s.share("team")
        s.upsert({"session_id": "a"})
        team.upsert({"session_id": "t"})
        s.upsert({"session_id": "b"})  # evicts a: the store holds 2 sessions of any type
        assert ids(s) == ["b"] and team.get_all_session_ids() == ["t"]
        assert ("evict", "a") in feed(s)
        # A mirror built from an export and the feed (removals: delete, expire, evict) equals the store.
        mirror: Dict[str, Any] = {}
        for c in s.changes(0)["changes"]:
            if c["op"] == "upsert":
                mirror[c["session_id"]] = c["session"]
            elif c["op"] == "drop":
                mirror = {k: v for k, v in mirror.items() if v["session_type"] != c["session_type"]}
            else:
                mirror.pop(c["session_id"])
        assert mirror == s.export()
        team.close()


def test_max_bytes_and_user_quota_evict() -> None:
    with Store(max_bytes=400) as s:
        for i in range(6):
            s.upsert({"session_id": f"s{i}", "pad": "x" * 50})
        bounds = s.stats()["bounds"]
        assert bounds["bytes"] <= 400 and bounds["evicted"] == 6 - len(ids(s)) > 0
        assert ids(s) == [f"s{i}" for i in range(6 - len(ids(s)), 6)]  # the newest stay
    with Store(user_max_sessions=2) as s:
        for sid, user in [("a", "ava"), ("b", "bob"), ("c", "ava"), ("d", "ava")]:
            s.upsert({"session_id": sid, "user_id": user})
        assert ids(s) == ["b", "c", "d"]  # ava's own oldest went, not bob's
        s.upsert({"session_id": "n1"})
        s.upsert({"session_id": "n2"})
        s.upsert({"session_id": "n3"})  # sessions without a user_id are not counted
        assert ids(s) == ["b", "c", "d", "n1", "n2", "n3"] and s.stats()["bounds"]["evicted"] == 1


def test_a_write_that_cannot_fit_is_full_even_under_evict() -> None:
    with Store(max_bytes=300) as s:
        s.upsert({"session_id": "a"})
        before = s.export()
        for write in (
            lambda: s.upsert({"session_id": "big", "pad": "x" * 400}),
            lambda: s.upsert_many([{"session_id": "big", "pad": "x" * 400}]),
            lambda: s.import_({"big": {"session_id": "big", "pad": "x" * 400}}),
            lambda: s.rename_session("a", "n" * 400),
            lambda: s.append_runs("a", ["r" * 400]),
            lambda: s.upsert_if({"session_id": "a", "pad": "x" * 400}, before["a"]["version"]),
        ):
            with pytest.raises(ss.Full) as e:
                write()
            assert e.value.status == Status.FULL and "max_bytes" in e.value.message
        assert s.export() == before and s.stats()["bounds"]["evicted"] == 0


def test_expired_sessions_make_room_before_live_ones_are_evicted() -> None:
    with Store(max_sessions=3, idle_expiry_s=3600) as s:
        s.upsert({"session_id": "live"})
        s.import_({"o1": {"session_id": "o1", "updated_at": OLD}, "o2": {"session_id": "o2", "updated_at": OLD}})
        assert ids(s) == ["live"]  # the store holds 3 sessions, two of them expired (gone for every call)
        s.upsert({"session_id": "x"})
        assert ids(s) == ["live", "x"]  # expired sessions, not the live one, should give up their room


# --- 4. refusal ----------------------------------------------------------------------------------------


def test_refuse_user_quota_raises_full_and_changes_nothing() -> None:
    with Store(when_full="refuse", user_max_sessions=1) as s:
        first = s.upsert({"session_id": "a", "user_id": "ava"})
        latest = s.stats()["feed"]["latest"]
        with pytest.raises(ss.Full) as e:
            s.upsert({"session_id": "b", "user_id": "ava"})
        assert isinstance(e.value, ss.SessionStoreError)
        assert e.value.status == Status.FULL == 15 and e.value.code == "FULL"
        assert "user_max_sessions" in e.value.message
        assert s.read("b") is None and ids(s) == ["a"] and s.read("a") == first
        assert s.stats()["feed"]["latest"] == latest  # nothing changed: no change numbered either
        with pytest.raises(ss.Full):
            s.upsert_raw(b'{"session_id":"b","user_id":"ava"}', return_stored=False)
        with pytest.raises(ss.Full):
            s.upsert_many([{"session_id": "c", "user_id": "bob"}, {"session_id": "b", "user_id": "ava"}])
        assert ids(s) == ["a"]  # the batch is atomic: bob's session was not stored either
        s.upsert({"session_id": "c", "user_id": "bob"})  # another user's session fits
        s.upsert({"session_id": "a", "user_id": "ava", "n": 2})  # replacing ava's own fits too
        s.upsert({"session_id": "free"})  # no user_id: not counted
        assert ids(s) == ["a", "c", "free"]
        bounds = s.stats()["bounds"]
        assert (bounds["when_full"], bounds["evicted"], bounds["user_max_sessions"]) == ("refuse", 0, 1)
        assert all(op != "evict" for op, _ in feed(s))


def test_refuse_store_bound() -> None:
    with Store(when_full="refuse", max_sessions=2) as s:
        s.upsert({"session_id": "a"})
        s.upsert({"session_id": "b"})
        with pytest.raises(ss.Full) as e:
            s.upsert({"session_id": "c"})
        assert "max_sessions" in e.value.message
        with pytest.raises(ss.Full):
            s.import_({"c": {"session_id": "c"}})
        assert ids(s) == ["a", "b"]
        s.delete_session("a")
        s.upsert({"session_id": "c"})  # room again
        assert ids(s) == ["b", "c"]


# --- 5. the status -------------------------------------------------------------------------------------


def test_full_is_in_the_status_table() -> None:
    assert Status.FULL == 15 and Status.FULL.name == "FULL"
    entry = next(e for e in ss.STATUS_TABLE if e[0] == Status.FULL)
    assert entry == (Status.FULL, "full", ss.Full, False)
    assert issubclass(ss.Full, ss.SessionStoreError) and ss.Full.status == 15 and ss.Full.code == "FULL"
    e = ss._errors.make_error(15, "m")
    assert type(e) is ss.Full and e.status == Status.FULL and e.code == "FULL" and e.message == "m"
    with Store() as s:
        assert s._lib.status_str(15) == "full"


def test_durable_store_does_not_bring_back_what_was_evicted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = str(tmp_path / "store")
    with Store(path=d, max_sessions=2) as s:
        for sid in "abc":
            s.upsert({"session_id": sid})
        assert ids(s) == ["b", "c"]
    with Store(path=d, max_sessions=2) as again:  # the eviction was journaled
        assert ids(again) == ["b", "c"] and ("evict", "a") in feed(again)
        assert again.stats()["bounds"]["max_sessions"] == 2
    with Store(path=d) as unbounded:  # the bounds are the open's, not the directory's
        assert ids(unbounded) == ["b", "c"] and unbounded.stats()["bounds"]["max_sessions"] is None
