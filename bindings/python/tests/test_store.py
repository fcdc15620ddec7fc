"""The Store API: every C function, its raw variant, errors and statuses, argument checks, loading."""

import ctypes
import datetime as dt
import json
import os
import subprocess
import sys
import threading
from typing import Any, Callable, List, Optional, Tuple

import pytest

import sessionstore as ss
from sessionstore import Status, Store


def test_version_and_library() -> None:
    assert ss.version() == "0.4.0" == ss.__version__
    with Store() as s:
        assert s.library_path.endswith("libsessionstore.so")
        assert os.path.dirname(s.library_path).endswith(os.path.join("sessionstore", "_lib"))


def test_upsert_read_roundtrip(store: Store) -> None:
    saved = store.upsert({"session_id": "c1", "user_id": "ava", "agent_id": "a", "memory": {"runs": [1, "é", None]}})
    assert saved["session_type"] == "agent" and saved["created_at"] > 0 and saved["updated_at"] >= saved["created_at"]
    got = store.read("c1")
    assert got == saved
    got["memory"]["runs"].append("mutated")  # a copy: the store does not change
    assert store.read("c1") == saved
    assert store.read("c1", "ava") == saved
    assert store.read("c1", "ben") is None  # another user's: None, not an error
    assert store.read("missing") is None
    assert store.exists("c1") and not store.exists("c1", "ben")


def test_created_at_kept(store: Store) -> None:
    first = store.upsert({"session_id": "k", "created_at": 1000})
    again = store.upsert({"session_id": "k"})
    assert first["created_at"] == again["created_at"] == 1000


def test_raw_variants(store: Store) -> None:
    raw = store.upsert_raw('{"session_id":"r1","user_id":"u"}')
    assert isinstance(raw, bytes) and json.loads(raw)["session_id"] == "r1"
    assert store.upsert_raw(b'{"session_id":"r2"}', return_stored=False) is None
    assert store.upsert_raw(bytearray(b'{"session_id":"r3"}'))
    assert store.upsert_raw(memoryview(b'{"session_id":"r4"}'))
    assert json.loads(store.read_raw("r1") or b"")["user_id"] == "u"
    assert store.read_raw("nope") is None
    assert json.loads(store.get_all_session_ids_raw()) == ["r1", "r2", "r3", "r4"]
    assert len(json.loads(store.get_all_sessions_raw())) == 4
    assert len(json.loads(store.get_recent_sessions_raw(limit=None))) == 4
    assert json.loads(store.query_raw('{"limit":1}'))["total"] == 4
    assert json.loads(store.query_raw())["total"] == 4
    assert json.loads(store.rename_session_raw("r1", "N"))["session_data"]["session_name"] == "N"
    assert json.loads(store.stats_raw())["sessions"] == 4
    exported = store.export_raw()
    assert set(json.loads(exported)) == {"r1", "r2", "r3", "r4"}
    assert store.delete_sessions_raw('["r3","r4","zz"]') == 2
    many = store.upsert_many_raw('[{"session_id":"m1"},{"session_id":"m2"}]')
    assert [s["session_id"] for s in json.loads(many)] == ["m1", "m2"]
    with Store() as other:
        assert other.import_raw(exported) == 4


def test_listings_and_filters(store: Store) -> None:
    for i in range(6):
        store.upsert({"session_id": f"s{i}", "user_id": f"u{i % 2}", "agent_id": f"a{i % 3}", "created_at": 100 + i})
    assert store.get_all_session_ids() == [f"s{i}" for i in range(6)]
    assert store.get_all_session_ids(user_id="u1") == ["s1", "s3", "s5"]
    assert store.get_all_session_ids(entity_id="a0") == ["s0", "s3"]
    assert store.get_all_session_ids("u1", "a0") == ["s3"]
    assert [s["session_id"] for s in store.get_all_sessions(entity_id="a2")] == ["s2", "s5"]
    assert [s["session_id"] for s in store.get_recent_sessions()] == ["s5", "s4"]  # default limit 2
    assert [s["session_id"] for s in store.get_recent_sessions("u0", limit=5)] == ["s4", "s2", "s0"]
    assert len(store.get_recent_sessions(limit=None)) == 6
    assert len(store.get_recent_sessions(limit=-1)) == 6
    assert store.get_recent_sessions(limit=0) == []


def test_query(store: Store) -> None:
    for i in range(10):
        store.upsert({"session_id": f"q{i}", "user_id": "u", "created_at": 1000 + i,
                      "session_data": {"session_name": f"Trip {i}" if i % 2 else f"Plan {i}"}})
    page = store.query(session_name="TRIP", sort_by="created_at", sort_order="asc", limit=2, offset=1)
    assert page["total"] == 5 and [s["session_id"] for s in page["sessions"]] == ["q3", "q5"]
    page = store.query(created_after=1003, created_before=dt.datetime.fromtimestamp(1005, dt.timezone.utc))
    assert page["total"] == 3 and [s["session_id"] for s in page["sessions"]] == ["q5", "q4", "q3"]
    assert store.query(sort_by="session_id", sort_order="asc", limit=1)["sessions"][0]["session_id"] == "q0"
    assert store.query(user_id="nobody")["total"] == 0
    with pytest.raises(ss.InvalidArgument):
        store.query(sort_by="nope")
    with pytest.raises(ss.InvalidArgument):
        store.query_raw('{"typo": 1}')


def test_rename_delete_drop_stats(store: Store) -> None:
    store.upsert({"session_id": "a"})
    team = store.share("team")
    team.upsert({"session_id": "t", "team_id": "crew"})
    assert store.rename_session("a", "Named")["session_data"] == {"session_name": "Named"}
    with pytest.raises(ss.NotFound) as e:
        store.rename_session("t", "x")  # another type: not found for this handle
    assert e.value.status == Status.NOT_FOUND == 1 and e.value.code == "NOT_FOUND"
    assert isinstance(e.value, LookupError)
    st = store.stats()
    assert st["sessions"] == 2 and st["by_type"]["team"] == 1 and st["mode"] == "agent"
    assert store.delete_session("t") == 0 and store.delete_session("a") == 1 and store.delete_session("a") == 0
    assert team.drop() == 1 and store.stats()["sessions"] == 0
    team.close()


def test_upsert_many_atomic(store: Store) -> None:
    stored = store.upsert_many([{"session_id": "x"}, {"session_id": "y"}])
    assert [s["session_id"] for s in stored] == ["x", "y"]
    with pytest.raises(ss.InvalidSession) as e:
        store.upsert_many([{"session_id": "z"}, {"user_id": "no id"}])
    assert "sessions[1]" in str(e.value)
    assert store.read("z") is None
    assert store.upsert_many(iter([{"session_id": "g"}]))[0]["session_id"] == "g"
    with pytest.raises(ss.InvalidArgumentType):
        store.upsert_many({"session_id": "x"})  # type: ignore[arg-type]


def test_share_modes_and_conflict(store: Store) -> None:
    team = store.share("team")
    assert team.mode == "team" and store.share().mode == "agent"
    team.upsert({"session_id": "same"})
    with pytest.raises(ss.Conflict) as e:
        store.upsert({"session_id": "same"})
    assert e.value.status == 5
    assert store.read("same") is None and team.read("same") is not None
    with pytest.raises(ss.InvalidSession):
        store.upsert({"session_id": "v", "session_type": "team"})
    with pytest.raises(ss.InvalidArgument):
        store.share("nope")  # type: ignore[arg-type]
    team.close()
    for mode in ("agent", "team", "workflow", "workflow_v2"):
        with Store(mode) as s:  # type: ignore[arg-type]
            assert s.upsert({"session_id": mode})["session_type"] == mode


def test_export_import(store: Store) -> None:
    store.upsert({"session_id": "e1", "created_at": 5})
    store.share("workflow").upsert({"session_id": "e2", "workflow_id": "w"})
    data = store.export()
    assert set(data) == {"e1", "e2"} and data["e2"]["session_type"] == "workflow"
    with Store.open() as other:
        assert other.import_(data) == 2
        assert other.export() == data
        with pytest.raises(ss.InvalidSession):
            other.import_({"k": {"session_id": "different"}})


def test_errors_map_to_statuses(store: Store) -> None:
    cases = [
        (lambda: store.upsert_raw("{not json"), ss.InvalidJson, 3),
        (lambda: store.upsert_raw(""), ss.InvalidJson, 3),
        (lambda: store.upsert({"no_id": 1}), ss.InvalidSession, 4),
        (lambda: store.upsert({"session_id": "n", "x": float("nan")}), ss.InvalidJson, 3),
        (lambda: store.upsert({"session_id": "o", "x": object()}), ss.InvalidJson, 3),
        (lambda: store.upsert_many_raw('{"session_id":"x"}'), ss.InvalidArgument, 2),
        (lambda: store.read(123), ss.InvalidArgumentType, 2),  # type: ignore[arg-type]
        (lambda: store.read("a\0b"), ss.InvalidArgument, 2),
        (lambda: store.read("\ud800"), ss.InvalidArgument, 2),
        (lambda: store.upsert_raw(42), ss.InvalidArgumentType, 2),  # type: ignore[arg-type]
        (lambda: Store(bogus_key=1), ss.InvalidArgument, 2),
        (lambda: Store("nope"), ss.InvalidArgument, 2),  # type: ignore[arg-type]
    ]
    for fn, cls, status in cases:
        with pytest.raises(cls) as e:
            fn()
        assert isinstance(e.value, ss.SessionStoreError) and e.value.status == status, (cls, e.value)
    assert issubclass(ss.InvalidArgumentType, TypeError) and issubclass(ss.InvalidArgument, ValueError)


def test_too_large() -> None:
    with Store(max_session_bytes=64) as s:
        with pytest.raises(ss.TooLarge) as e:
            s.upsert({"session_id": "big", "pad": "x" * 100})
        assert e.value.status == 6


def test_lone_surrogate_kept(store: Store) -> None:
    saved = store.upsert({"session_id": "sur", "text": "a\ud800b"})
    assert saved["text"] == "a\ud800b"


def test_integers_checked_against_c_types(store: Store) -> None:
    store.upsert({"session_id": "i"})
    for bad in (2**63, -(2**63) - 1, 2**64):
        with pytest.raises(ss.InvalidArgument):
            store.get_recent_sessions(limit=bad)
    assert len(store.get_recent_sessions(limit=2**63 - 1)) == 1
    assert len(store.get_recent_sessions(limit=-(2**63))) == 1
    for bad_type in (1.5, True, "3"):
        with pytest.raises(ss.InvalidArgumentType):
            store.get_recent_sessions(limit=bad_type)  # type: ignore[arg-type]
    with pytest.raises(ss.InvalidArgument):
        store.query(limit=-1)
    with pytest.raises(ss.InvalidArgument):
        store.query(offset=2**64)
    assert store.query(limit=2**64 - 1)["total"] == 1
    with pytest.raises(ss.InvalidArgument):
        store.query(created_after=2**63)
    with pytest.raises(ss.InvalidArgument):
        Store(max_session_bytes=0)
    with pytest.raises(ss.InvalidArgument):
        Store(max_session_bytes=2**64)

    class Idx:
        def __index__(self) -> int:
            return 1

    assert len(store.get_recent_sessions(limit=Idx())) == 1  # type: ignore[arg-type]


def test_status_table_matches_library_and_check_is_strict() -> None:
    lib = ctypes.CDLL(Store().library_path)
    lib.ss_status_str.restype = ctypes.c_char_p
    lib.ss_status_str.argtypes = [ctypes.c_uint32]
    real = lambda n: lib.ss_status_str(n).decode()  # noqa: E731
    assert ss.check_status_table(real) == 17
    for e in ss.STATUS_TABLE:
        assert real(int(e[0])) == e[1]
    assert real(65536) == "closed" and Status.CLOSED == 65536
    assert real(8) == "permission denied" and Status.PERMISSION_DENIED == 8
    assert [real(n) for n in (9, 10, 11, 12)] == ["I/O error", "locked", "corrupt", "poisoned"]
    assert (Status.IO, Status.LOCKED, Status.CORRUPT, Status.POISONED) == (9, 10, 11, 12)
    assert [real(n) for n in (13, 14)] == ["version mismatch", "feed truncated"]
    assert (Status.VERSION_MISMATCH, Status.FEED_TRUNCATED) == (13, 14)
    assert real(15) == "full" and Status.FULL == 15
    assert real(16) == "unavailable" and Status.UNAVAILABLE == 16

    def newer(n: int) -> str:
        return "quota exceeded" if n == 17 else real(n)

    with pytest.raises(RuntimeError, match="status 17"):
        ss.check_status_table(newer)

    def before_redis(n: int) -> str:  # a library from before the redis backend: no UNAVAILABLE
        return "unknown status" if n == 16 else real(n)

    with pytest.raises(RuntimeError, match="UNAVAILABLE \\(16\\) is not a status of the library"):
        ss.check_status_table(before_redis)

    def before_bounds(n: int) -> str:  # a 0.3 library: no FULL
        return "unknown status" if n == 15 else real(n)

    with pytest.raises(RuntimeError, match="FULL \\(15\\) is not a status of the library"):
        ss.check_status_table(before_bounds)

    def before_versions(n: int) -> str:  # a 0.2 library: no VERSION_MISMATCH, no FEED_TRUNCATED
        return "unknown status" if n in (13, 14) else real(n)

    with pytest.raises(RuntimeError, match="VERSION_MISMATCH \\(13\\) is not a status of the library"):
        ss.check_status_table(before_versions)

    def before_durability(n: int) -> str:  # a library from before the durable stores
        return "unknown status" if n >= 9 and n < 65536 else real(n)

    with pytest.raises(RuntimeError, match="IO \\(9\\) is not a status of the library"):
        ss.check_status_table(before_durability)

    def older(n: int) -> str:  # a library from before PERMISSION_DENIED
        return "unknown status" if n == 8 else real(n)

    with pytest.raises(RuntimeError, match="PERMISSION_DENIED"):
        ss.check_status_table(older)

    def renamed(n: int) -> str:
        return "gone" if n == 1 else real(n)

    with pytest.raises(RuntimeError, match="status 1"):
        ss.check_status_table(renamed)


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k != "SESSIONSTORE_LIB"}
    e.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e)


def test_explicit_library_path_that_fails_is_an_error_naming_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = str(tmp_path / "nope.so")
    r = _python("import sessionstore; sessionstore.Store()", SESSIONSTORE_LIB=missing)
    assert r.returncode != 0 and missing in r.stderr and "SESSIONSTORE_LIB" in r.stderr
    assert "not tried" in r.stderr  # the bundled copy is named but not loaded instead
    bogus = tmp_path / "bogus.so"
    bogus.write_text("not a library")
    with pytest.raises(ss.Internal, match="bogus.so"):
        Store(library=str(bogus))
    good = Store().library_path
    r = _python(f"import sessionstore; s = sessionstore.Store(); print(s.library_path)", SESSIONSTORE_LIB=good)
    assert r.returncode == 0 and r.stdout.strip() == good
    with Store(library=good) as s:
        assert s.library_path == good


# --- ownership, user-scoped writes, queries across types, projections, non-finite numbers -------------


def test_permission_denied_single_changes_nothing(store: Store) -> None:
    saved = store.upsert({"session_id": "own", "user_id": "ava", "memory": {"n": 1}})
    for intruder in ({"user_id": "ben"}, {"user_id": None}, {}):  # another user, null and absent alike
        with pytest.raises(ss.PermissionDenied) as e:
            store.upsert({"session_id": "own", "memory": {"n": 2}, **intruder})
        assert e.value.status == Status.PERMISSION_DENIED == 8 and e.value.code == "PERMISSION_DENIED"
        assert isinstance(e.value, ss.SessionStoreError) and "own" in e.value.message
    with pytest.raises(ss.PermissionDenied):
        store.upsert_raw(b'{"session_id":"own","user_id":"ben"}', return_stored=False)
    assert store.read("own") == saved  # nothing changed, updated_at included
    assert store.upsert({"session_id": "own", "user_id": "ava", "memory": {"n": 3}})["memory"] == {"n": 3}
    # A session with no owner may be claimed; from then on it is that user's.
    store.upsert({"session_id": "free"})
    assert store.upsert({"session_id": "free", "user_id": "ben"})["user_id"] == "ben"
    with pytest.raises(ss.PermissionDenied):
        store.upsert({"session_id": "free", "user_id": "ava"})


def test_permission_denied_batch_names_the_element_and_stores_nothing(store: Store) -> None:
    store.upsert({"session_id": "a", "user_id": "ava"})
    before = store.export()
    with pytest.raises(ss.PermissionDenied) as e:
        store.upsert_many([{"session_id": "new1", "user_id": "ben"}, {"session_id": "a", "user_id": "ben"},
                           {"session_id": "new2"}])
    assert e.value.message.startswith("sessions[1]: ") and e.value.status == 8
    assert store.export() == before and store.read("new1") is None
    # Each element is checked against the owner the earlier ones gave the id.
    with pytest.raises(ss.PermissionDenied) as e:
        store.upsert_many([{"session_id": "b", "user_id": "ben"}, {"session_id": "b", "user_id": "cat"}])
    assert e.value.message.startswith("sessions[1]: ") and store.read("b") is None
    with pytest.raises(ss.PermissionDenied, match=r"sessions\[0\]"):
        store.upsert_many_raw(b'[{"session_id":"a"}]')
    assert [s["user_id"] for s in store.upsert_many([{"session_id": "a", "user_id": "ava"}])] == ["ava"]
    # import_ is an administrative load: it may give a session to another user.
    assert store.import_({"a": {"session_id": "a", "user_id": "ben"}}) == 1
    assert store.read("a", "ben") is not None


def test_user_scoped_rename_delete_and_delete_sessions(store: Store) -> None:
    for i, user in enumerate(["ava", "ben", "ava", None]):
        store.upsert({"session_id": f"s{i}", "user_id": user})
    before = store.read("s0")
    with pytest.raises(ss.NotFound):
        store.rename_session("s0", "Taken", user_id="ben")
    assert store.read("s0") == before  # another user's: not found, nothing changed
    assert store.rename_session("s0", "Mine", user_id="ava")["session_data"] == {"session_name": "Mine"}
    assert json.loads(store.rename_session_raw("s1", "B", "ben"))["session_data"]["session_name"] == "B"
    assert store.rename_session("s3", "Any", user_id="")["session_data"]["session_name"] == "Any"  # "" = any user
    with pytest.raises(ss.NotFound):
        store.rename_session("s3", "x", user_id="ava")  # an unowned session is nobody's in particular
    assert store.delete_session("s0", user_id="ben") == 0 and store.read("s0") is not None
    assert store.delete_session("s0", "ava") == 1 and store.read("s0") is None
    assert store.delete_sessions(["s1", "s2", "s3"], user_id="ava") == 1  # only s2 is ava's
    assert store.get_all_session_ids() == ["s1", "s3"]
    assert store.delete_sessions_raw('["s1","s3"]', "ben") == 1
    assert store.delete_sessions(["s3"], user_id="") == 1 and store.get_all_session_ids() == []
    with pytest.raises(ss.InvalidArgumentType):
        store.delete_session("x", user_id=5)  # type: ignore[arg-type]
    with pytest.raises(ss.InvalidArgument):
        store.delete_sessions(["x"], user_id="a\0b")


def test_query_across_types_and_case_folding(store: Store) -> None:
    team, wf = store.share("team"), store.share("workflow")
    store.upsert({"session_id": "a1", "user_id": "u", "agent_id": "x", "created_at": 10,
                  "session_data": {"session_name": "Straße nach ΟΔΟΣ"}})
    team.upsert({"session_id": "t1", "user_id": "u", "team_id": "x", "created_at": 20,
                 "session_data": {"session_name": "STRASSE"}})
    wf.upsert({"session_id": "w1", "user_id": "v", "workflow_id": "x", "created_at": 30})
    assert store.query()["total"] == 1  # the handle's mode by default
    page = store.query(session_type="any", sort_order="asc")
    assert [(s["session_id"], s["session_type"]) for s in page["sessions"]] == [("a1", "agent"), ("t1", "team"), ("w1", "workflow")]
    assert store.query(session_type=["team", "workflow"], sort_order="asc")["total"] == 2
    assert store.query(session_type=("agent",))["total"] == 1
    assert [s["session_id"] for s in store.query(session_type="team")["sessions"]] == ["t1"]
    assert store.query(session_type="any", entity_id="x")["total"] == 3  # each type's own entity field
    assert store.query(session_type="any", user_id="u", limit=1, offset=1)["sessions"][0]["session_id"] == "a1"
    # session_name folds case fully (str.casefold): "ss" finds "ß", final sigma finds "Σ".
    assert [s["session_id"] for s in store.query(session_type="any", session_name="strasse", sort_order="asc")["sessions"]] == ["a1", "t1"]
    assert store.query(session_name="οδος")["total"] == 1
    for bad in ("nope", [], ["agent", "nope"]):
        with pytest.raises(ss.InvalidArgument):
            store.query(session_type=bad)  # type: ignore[arg-type]
    for bad_type in (5, [1], b"agent"):
        with pytest.raises(ss.InvalidArgumentType):
            store.query(session_type=bad_type)  # type: ignore[arg-type]
    team.close()
    wf.close()


def test_query_fields_metadata_and_lists(store: Store) -> None:
    big = {"runs": [{"content": "x" * 5000}]}
    store.upsert({"session_id": "m1", "user_id": "u", "agent_id": "a", "created_at": 5, "memory": big,
                  "session_data": {"session_name": "Named", "session_state": {"k": 1}}, "extra": 1})
    store.upsert({"session_id": "m2", "created_at": 6, "memory": big})
    meta = store.query(fields="metadata", sort_order="asc")
    assert meta["total"] == 2
    first, second = meta["sessions"]
    assert set(first) == {"session_id", "session_type", "user_id", "agent_id", "created_at", "updated_at", "session_data"}
    assert first["session_data"] == {"session_name": "Named"} and first["user_id"] == "u" and first["created_at"] == 5
    assert "session_data" not in second and second["session_id"] == "m2"  # unnamed: no session_data
    listed = store.query(fields=["session_id", "extra", "absent"], sort_order="asc")["sessions"]
    assert listed == [{"session_id": "m1", "extra": 1}, {"session_id": "m2"}]
    assert store.query(fields="all", limit=1)["sessions"][0]["memory"] == big
    assert json.loads(store.query_raw('{"fields":"metadata","limit":1}'))["sessions"][0]["session_id"] == "m2"
    with pytest.raises(ss.InvalidArgument):
        store.query(fields="everything")  # type: ignore[arg-type]
    with pytest.raises(ss.InvalidArgument):
        store.query(fields=[f"f{i}" for i in range(65)])  # at most 64 names
    with pytest.raises(ss.InvalidArgumentType):
        store.query(fields=[1])  # type: ignore[list-item]


def test_non_finite_numbers() -> None:
    nan, inf = float("nan"), float("inf")
    with Store() as strict:  # default "reject": the library's message names the word and the option
        for value in (nan, inf, -inf):
            with pytest.raises(ss.InvalidJson, match="non_finite_numbers"):
                strict.upsert({"session_id": "n", "metrics": {"t": value}})
        with pytest.raises(ss.InvalidJson, match="NaN"):
            strict.upsert_raw(b'{"session_id":"n","t":NaN}')
        with pytest.raises(ss.InvalidJson, match="-Infinity"):  # the array does not parse: the whole batch
            strict.upsert_many([{"session_id": "ok"}, {"session_id": "n", "t": -inf}])
        assert strict.read("n") is None and strict.read("ok") is None
    with Store(non_finite_numbers="null") as lax:
        saved = lax.upsert({"session_id": "n", "metrics": {"t": [nan, inf, -inf, 1.5, "NaN"]}})
        assert saved["metrics"] == {"t": [None, None, None, 1.5, "NaN"]}  # strings are left alone
        assert lax.read("n") == saved
        assert json.loads(lax.upsert_raw(json.dumps({"session_id": "r", "v": nan})))["v"] is None
        assert [s["v"] for s in lax.upsert_many([{"session_id": "b", "v": inf}])] == [None]
        assert lax.share("team").upsert({"session_id": "t", "v": nan})["v"] is None  # shared handles too
        assert lax.import_({"i": {"session_id": "i", "v": -inf}}) == 1 and lax.read("i")["v"] is None  # type: ignore[index]
        def refuse(word: str) -> None:
            raise AssertionError(f"{word} in the export")

        assert json.loads(lax.export_raw(), parse_constant=refuse)["n"]["metrics"]["t"][4] == "NaN"
        with pytest.raises(ss.InvalidJson):
            lax.query_raw(b'{"limit":NaN}')  # queries stay strict JSON
    with Store.open(non_finite_numbers="reject", max_session_bytes=1000) as explicit:
        with pytest.raises(ss.InvalidJson):
            explicit.upsert({"session_id": "n", "v": nan})
    with pytest.raises(ss.InvalidArgument):
        Store(non_finite_numbers="zero")  # type: ignore[arg-type]
    with pytest.raises(ss.InvalidArgumentType):
        Store(non_finite_numbers=0)  # type: ignore[arg-type]


# --- read_into, and read_raw through ss_read_into ----------------------------------------------------


def test_read_into_exact_fit_too_small_and_length_query(store: Store) -> None:
    store.upsert({"session_id": "r", "user_id": "u", "memory": {"runs": ["é" * 50]}})
    raw = store.read_raw("r")
    assert raw is not None
    n = len(raw)
    exact = bytearray(n)
    assert store.read_into(exact, "r") == n and bytes(exact) == raw
    roomy = bytearray(b"\xaa" * (n + 10))
    assert store.read_into(roomy, "r", "u") == n
    assert roomy[:n] == raw and roomy[n:] == b"\xaa" * 10  # not NUL-terminated: the rest is untouched
    small = bytearray(b"\x55" * (n - 1))
    assert store.read_into(small, "r") == n  # the length: nothing copied
    assert small == b"\x55" * (n - 1)
    empty = bytearray()
    assert store.read_into(empty, "r") == n and empty == b""
    assert store.read_into(memoryview(bytearray()), "r") == n


def test_read_into_views_and_other_buffers(store: Store) -> None:
    import array
    import mmap

    store.upsert({"session_id": "v"})
    raw = store.read_raw("v")
    assert raw is not None
    n = len(raw)
    backing = bytearray(b"#" * (n + 20))
    assert store.read_into(memoryview(backing)[7 : 7 + n], "v") == n  # a slice writes where it starts
    assert backing[:7] == b"#" * 7 and backing[7 : 7 + n] == raw and backing[7 + n :] == b"#" * 13
    arr = array.array("B", bytes(n))
    assert store.read_into(arr, "v") == n and arr.tobytes() == raw
    signed = array.array("b", bytes(n))
    assert store.read_into(signed, "v") == n and signed.tobytes() == raw
    chars = (ctypes.c_char * n)()
    assert store.read_into(chars, "v") == n and chars.raw == raw  # format "<c"
    grid = memoryview(bytearray(2 * n)).cast("B", (2, n))  # C-contiguous, two dimensions: 2n bytes
    assert store.read_into(grid, "v") == n and grid.tobytes()[:n] == raw
    with mmap.mmap(-1, n + 1) as m:
        assert store.read_into(m, "v") == n and m[:n] == raw


def test_read_into_none_like_read_raw(store: Store) -> None:
    store.upsert({"session_id": "mine", "user_id": "ava"})
    store.share("team").upsert({"session_id": "theirs"})
    buf = bytearray(b"\x01" * 64)
    assert store.read_into(buf, "missing") is None
    assert store.read_into(buf, "mine", "ben") is None  # another user's
    assert store.read_into(buf, "theirs") is None  # another type
    assert store.read_into(bytearray(), "missing") is None
    assert buf == b"\x01" * 64
    assert store.read_into(buf, "mine", "") is not None  # "" is no user filter, as for read_raw


def test_read_into_closed_and_bad_ids() -> None:
    s = Store()
    s.upsert({"session_id": "x"})
    buf = bytearray(16)
    with pytest.raises(ss.InvalidArgumentType):
        s.read_into(buf, 1)  # type: ignore[arg-type]
    with pytest.raises(ss.InvalidArgument):
        s.read_into(buf, "a\0b")
    with pytest.raises(ss.InvalidArgumentType):
        s.read_into(buf, "x", 2)  # type: ignore[arg-type]
    s.close()
    with pytest.raises(ss.Closed) as e:
        s.read_into(buf, "x")
    assert e.value.status == Status.CLOSED
    buf.extend(b"more")  # not held after any of these


def test_read_into_threads_each_into_its_own_buffer() -> None:
    with Store() as s:
        expected = {}
        for i in range(40):
            expected[f"s{i}"] = s.upsert_raw(json.dumps({"session_id": f"s{i}", "pad": "p" * (i * 97)}))
        errors: List[BaseException] = []
        barrier = threading.Barrier(4)

        def worker(k: int) -> None:
            try:
                buf = bytearray(8192)
                backing = bytearray(8192)
                view = memoryview(backing)[100:]
                barrier.wait()
                for rep in range(300):
                    sid = f"s{(rep * 7 + k) % 40}"
                    want = expected[sid]
                    if rep % 2:
                        n = s.read_into(buf, sid)
                        assert n == len(want) and buf[:n] == want, sid
                    else:
                        n = s.read_into(view, sid)
                        assert n == len(want) and backing[100 : 100 + n] == want, sid
                    assert s.read_raw(sid) == want
            except BaseException as e:  # pragma: no cover
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []


def _in_new_thread(fn: Callable[[], None]) -> None:
    """Runs ``fn`` in a thread of its own: read_raw's buffer is per thread, so this one starts at its first
    size whatever the tests before it read."""
    errors: List[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if errors:
        raise errors[0]


def test_read_raw_sessions_larger_than_its_buffer(store: Store) -> None:
    from sessionstore import _store

    first, bound = _store._READ_BUFFER, _store._READ_BUFFER_MAX
    sizes = (100, first - 200, first + 1, 300_000, bound - 200, bound + 10, 2_500_000)
    stored = {}
    for size in sizes:
        stored[size] = store.upsert_raw(json.dumps({"session_id": f"b{size}", "pad": "z" * size}))

    def reads() -> None:
        for _ in range(2):  # each size after larger and smaller ones: the buffer kept is reused or regrown
            for size in sizes + sizes[::-1]:
                got = store.read_raw(f"b{size}")
                assert got == stored[size] and type(got) is bytes, size
        assert store.read(f"b{sizes[3]}")["pad"] == "z" * sizes[3]  # type: ignore[index]

    _in_new_thread(reads)


class _Between:
    """A Lib that runs ``action`` once, before its ``when``-th read call (ss_read_into or ss_read): a
    session that changes between the calls of one read_raw."""

    def __init__(self, lib: Any, when: int, action: Callable[[], object]) -> None:
        self.lib, self._when, self._action, self.calls = lib, when, action, 0

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.lib, attr)

    def _before(self) -> None:
        self.calls += 1
        if self.calls == self._when:
            self._action()

    def read_into(self, *args: Any) -> Any:
        self._before()
        return self.lib.read_into(*args)

    def read(self, *args: Any) -> Any:
        self._before()
        return self.lib.read(*args)


def test_read_raw_session_changed_between_its_calls() -> None:
    from sessionstore import _store

    big = _store._READ_BUFFER + 5000  # above the first buffer, below the bound

    def body() -> None:
        with Store() as s:
            other = s.share()
            lib = s._lib

            def run(sid: str, action: Callable[[], object]) -> Tuple[Optional[bytes], int]:
                between = _Between(lib, 2, action)
                s._lib = between  # type: ignore[assignment]
                try:
                    return s.read_raw(sid), between.calls
                finally:
                    s._lib = lib

            # Each case starts above the buffer left by the one before (64 KiB, 256, 512, 1024).
            # Shrunk between the length and the second read: the second read, into a larger buffer, fits.
            s.upsert({"session_id": "n", "pad": "n" * (2 * big)})
            got, calls = run("n", lambda: other.upsert({"session_id": "n", "pad": "tiny"}))
            assert calls == 2 and json.loads(got or b"")["pad"] == "tiny"
            # Grown past the larger buffer between the length and the second read: ss_read reads it.
            s.upsert({"session_id": "g", "pad": "x" * (4 * big)})
            got, calls = run("g", lambda: other.upsert({"session_id": "g", "pad": "x" * (16 * big)}))
            assert calls == 3 and got == s.read_raw("g") and json.loads(got or b"")["pad"] == "x" * (16 * big)
            # Deleted between the two reads into the buffer: as if it had been gone first.
            s.upsert({"session_id": "h", "pad": "y" * (8 * big)})
            got, calls = run("h", lambda: other.delete_session("h"))
            assert calls == 2 and got is None
            # Above the bound, ss_read reads it after ss_read_into gave the length; it shrank in between.
            s.upsert({"session_id": "k", "pad": "k" * (_store._READ_BUFFER_MAX + 1)})
            got, calls = run("k", lambda: other.upsert({"session_id": "k", "pad": "short"}))
            assert calls == 2 and json.loads(got or b"")["pad"] == "short"
            other.close()

    _in_new_thread(body)
