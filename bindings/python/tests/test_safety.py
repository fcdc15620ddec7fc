"""Use after close, arguments whose code closes the store, threads (GIL released), leaks (RSS)."""

import datetime as dt
import gc
import os
import threading
import time
from typing import Any, Callable, List

import pytest

import sessionstore as ss
from sessionstore import Store


def test_use_after_close_raises_closed() -> None:
    s = Store()
    s.upsert({"session_id": "x"})
    shared = s.share()
    s.close()
    s.close()  # idempotent
    assert s.closed
    calls: List[Callable[[], Any]] = [
        lambda: s.read("x"), lambda: s.read_raw("x"), lambda: s.exists("x"), lambda: s.upsert({"session_id": "y"}),
        lambda: s.upsert_raw("{}"), lambda: s.upsert_many([]), lambda: s.get_all_session_ids(),
        lambda: s.get_all_sessions(), lambda: s.get_recent_sessions(), lambda: s.query(), lambda: s.query_raw(),
        lambda: s.rename_session("x", "n"), lambda: s.delete_session("x"), lambda: s.delete_sessions(["x"]),
        lambda: s.rename_session("x", "n", "u"), lambda: s.delete_session("x", "u"),
        lambda: s.delete_sessions(["x"], "u"), lambda: s.query(session_type="any", fields="metadata"),
        lambda: s.drop(), lambda: s.stats(), lambda: s.export(), lambda: s.import_({}), lambda: s.share(),
        lambda: s.sync(),
        lambda: s.upsert_if({"session_id": "x"}, 1), lambda: s.upsert_if_raw("{}", 0, return_stored=False),
        lambda: s.rename_session_if("x", "n", 1), lambda: s.rename_session_if_raw("x", "n", 1, "u"),
        lambda: s.delete_session_if("x", 1), lambda: s.append_runs("x", [1]),
        lambda: s.append_runs_raw("x", "[1]", return_stored=False), lambda: s.changes(0),
        lambda: s.changes_raw(0, 1, ids_only=True), lambda: s.export_with_seq(), lambda: s.export_with_seq_raw(),
        lambda: s.upsert_if({"session_id": "x"}, -1),  # closed is reported before argument errors
        lambda: s.__enter__(),
        lambda: s.read(123),  # type: ignore[arg-type]  # closed is reported before argument errors
    ]
    for call in calls:
        with pytest.raises(ss.Closed) as e:
            call()
        assert e.value.status == ss.Status.CLOSED == 65536 and e.value.code == "CLOSED"
    assert shared.read("x") is not None  # the data lives on in the shared handle
    shared.close()


def test_context_manager_closes() -> None:
    with Store() as s:
        s.upsert({"session_id": "x"})
    assert s.closed
    with pytest.raises(ss.Closed):
        s.read("x")


class Closer:
    """An argument whose conversion closes the store: the call must raise Closed, never use the handle."""

    def __init__(self, store: Store, value: Any) -> None:
        self.store, self.value = store, value

    def __index__(self) -> int:
        self.store.close()
        return int(self.value)


def test_arguments_that_close_the_store() -> None:
    s = Store()
    with pytest.raises(ss.Closed):
        s.get_recent_sessions(limit=Closer(s, 2))  # type: ignore[arg-type]

    s = Store()
    with pytest.raises(ss.Closed):
        s.query(limit=Closer(s, 2))  # type: ignore[arg-type]

    # The uint64 and size_t arguments of 0.3 are converted before the handle is taken too.
    s = Store()
    with pytest.raises(ss.Closed):
        s.upsert_if({"session_id": "a"}, Closer(s, 0))  # type: ignore[arg-type]
    s = Store()
    with pytest.raises(ss.Closed):
        s.rename_session_if("a", "n", Closer(s, 1))  # type: ignore[arg-type]
    s = Store()
    with pytest.raises(ss.Closed):
        s.delete_session_if("a", Closer(s, 1))  # type: ignore[arg-type]
    s = Store()
    with pytest.raises(ss.Closed):
        s.changes(Closer(s, 0))  # type: ignore[arg-type]
    s = Store()
    with pytest.raises(ss.Closed):
        s.changes(0, Closer(s, 5))  # type: ignore[arg-type]

    s = Store()

    class ClosingRuns:
        def __iter__(self) -> Any:
            s.close()
            return iter([{"run_id": "r"}])

    with pytest.raises(ss.Closed):
        s.append_runs("a", ClosingRuns())  # type: ignore[arg-type]

    s = Store()

    class ClosingDate(dt.datetime):
        def timestamp(self) -> float:
            s.close()
            return 0.0

    with pytest.raises(ss.Closed):
        s.query(created_after=ClosingDate(2024, 1, 1))

    s = Store()

    class ClosingStr(str):
        def __str__(self) -> str:  # never called: ids are read as str data
            s.close()
            return "x"

        def encode(self, *a: Any, **k: Any) -> bytes:  # type: ignore[override]
            s.close()
            return b"x"

    assert s.read(ClosingStr("missing")) is None and not s.closed

    s = Store()

    class ClosingIds:
        def __iter__(self) -> Any:
            s.close()
            return iter(["a"])

    with pytest.raises(ss.Closed):
        s.delete_sessions(ClosingIds())  # type: ignore[arg-type]

    s = Store()

    class ClosingMapping(dict):  # type: ignore[type-arg]
        def __iter__(self) -> Any:
            s.close()
            return super().__iter__()

        def items(self) -> Any:
            s.close()
            return super().items()

    with pytest.raises(ss.Closed):
        s.upsert_many([ClosingMapping(session_id="a"), {"session_id": "b"}])


def test_close_while_other_threads_call() -> None:
    # Closing while calls run in other threads: they finish or raise Closed; the handle is released by
    # the last running call, never while one uses it.
    for _ in range(20):
        s = Store()
        for i in range(200):
            s.upsert({"session_id": f"s{i}", "user_id": "u"})
        errors: List[BaseException] = []

        def worker() -> None:
            try:
                while True:
                    s.get_recent_sessions("u", limit=50)
            except ss.Closed:
                pass
            except BaseException as e:  # pragma: no cover
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.005)
        s.close()
        for t in threads:
            t.join()
        assert errors == []


def _seed_big_store(n: int) -> Store:
    s = Store()
    pad = "x" * 900
    for start in range(0, n, 1000):
        s.upsert_many([{"session_id": f"s{i}", "user_id": f"u{i % 100}", "session_data": {"session_name": f"name {i}"},
                        "pad": pad} for i in range(start, min(n, start + 1000))], )
    return s


def test_gil_released_two_threads_run_in_parallel() -> None:
    # A long call with a tiny result: a name search over every session that matches nothing (a needle
    # of two characters, too short for the name index, so every name is read). Two threads doing N calls
    # each against one thread doing 2N: with the GIL released, the wall-time ratio is near 0.5 on a
    # machine with two free cores (1.0 if the GIL were held). Best of a few tries: shared CI.
    s = _seed_big_store(50_000)
    q = b'{"session_name":"q~","limit":1}'
    calls = 12

    def work(k: int) -> None:
        for _ in range(k):
            s.query_raw(q)

    work(2)
    best = 9.9
    for _ in range(6):
        t0 = time.perf_counter()
        work(2 * calls)
        sequential = time.perf_counter() - t0
        threads = [threading.Thread(target=work, args=(calls,)) for _ in range(2)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        parallel = time.perf_counter() - t0
        best = min(best, parallel / sequential)
        if best < 0.75:
            break
    s.close()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(f"two threads / one thread wall time: {best:.2f} ({cores} cores)")
    if cores < 2:
        pytest.skip("one core: no parallelism to show")
    # Held, the GIL makes the two threads at least as slow as one (>= 1.0); 0.9 leaves room for a busy machine.
    assert best < 0.9, f"two threads took {best:.2f}x the sequential time: the GIL is not released"


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_no_leak_100k_open_close_and_1m_reads() -> None:
    def cycles(n: int) -> None:
        for i in range(n):
            s = Store()
            s.upsert_raw(b'{"session_id":"x"}', return_stored=False)
            t = s.share("team")
            t.close()
            s.close()

    cycles(5_000)
    gc.collect()
    before = _rss_kib()
    cycles(100_000)
    gc.collect()
    grown = _rss_kib() - before
    assert grown < 8 * 1024, f"RSS grew by {grown} KiB over 100k open/share/close cycles"

    with Store() as s:
        s.upsert({"session_id": "r", "user_id": "u", "memory": {"pad": "y" * 1000}})
        read_raw, read = s.read_raw, s.read
        for _ in range(20_000):
            read_raw("r")
            read("missing")
        gc.collect()
        before = _rss_kib()
        for _ in range(500_000):
            read_raw("r")
            read("missing")  # NOT_FOUND: its error message is freed too
        gc.collect()
        grown = _rss_kib() - before
    assert grown < 8 * 1024, f"RSS grew by {grown} KiB over 1M reads"
