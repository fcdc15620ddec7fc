"""Use after close, arguments whose code closes the store, read_into's buffers, threads (GIL released),
leaks (RSS)."""

import datetime as dt
import gc
import os
import threading
import time
import weakref
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
        lambda: s.read_into(bytearray(8), "x"), lambda: s.read_into(bytearray(), "x", "u"),
        lambda: s.read_into(b"read-only", 1),  # type: ignore[arg-type]
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


# --- read_into: the caller's buffer --------------------------------------------------------------------


def _resizable(buf: bytearray) -> bool:
    """Whether nothing holds an export of ``buf`` any more (a held one makes resizing raise)."""
    try:
        buf.append(0)
    except BufferError:
        return False
    del buf[-1]
    return True


def test_read_into_refuses_buffers_it_cannot_write() -> None:
    import array
    import mmap

    with Store() as s:
        s.upsert({"session_id": "x"})
        backing = bytearray(b"=" * 64)
        wrong_type: List[Any] = [None, "text", 64, [0] * 64, object(), dt.datetime(2024, 1, 1)]
        for bad in wrong_type:
            with pytest.raises(ss.InvalidArgumentType, match="writable bytes-like") as e:
                s.read_into(bad, "x")
            assert isinstance(e.value, TypeError) and e.value.status == ss.Status.INVALID_ARGUMENT

        class Bytes(bytes):
            pass

        ro_map = mmap.mmap(-1, 64, access=mmap.ACCESS_READ)
        read_only: List[Any] = [b"=" * 64, Bytes(b"=" * 64), memoryview(b"=" * 64), memoryview(backing).toreadonly(),
                                ro_map]
        for bad in read_only:
            with pytest.raises(ss.InvalidArgumentType, match="writable") as e:
                s.read_into(bad, "x")
            assert isinstance(e.value, TypeError)
        ro_map.close()

        released = memoryview(backing)
        released.release()
        not_bytes: List[Any] = [
            memoryview(backing)[::2], memoryview(backing)[::-1],  # not contiguous
            memoryview(backing).cast("i"), array.array("H", [0] * 32), array.array("d", [0.0] * 8),  # not single bytes
            memoryview(backing).cast("?"),  # single bytes, but bools
            memoryview(bytearray(64)).cast("B", (8, 8))[::2],  # a view with a step in its first dimension
            released,
        ]
        for bad in not_bytes:
            with pytest.raises(ss.InvalidArgument) as e:
                s.read_into(bad, "x")
            assert isinstance(e.value, ValueError) and not isinstance(e.value, TypeError), bad
            assert e.value.status == ss.Status.INVALID_ARGUMENT
        for view in read_only + not_bytes:
            if isinstance(view, memoryview):
                view.release()  # the test's own exports
        assert backing == b"=" * 64 and _resizable(backing)  # nothing written, nothing held
        assert s.read_into(memoryview(backing).cast("c"), "x") is not None  # format "c" is bytes
        assert _resizable(backing)


def test_read_into_subclasses_and_their_methods() -> None:
    s = Store()
    s.upsert({"session_id": "x"})
    raw = s.read_raw("x")
    assert raw is not None

    class Hostile(bytearray):
        # None of these is called: the size and the memory are the buffer's own.
        def __len__(self) -> int:
            s.close()
            return 1 << 40

        def __bool__(self) -> bool:
            s.close()
            return True

        def __setitem__(self, *a: Any) -> None:
            s.close()

        def __getitem__(self, *a: Any) -> Any:
            s.close()

    small = Hostile(b"-" * 4)
    assert s.read_into(small, "x") == len(raw) and bytearray(small) == b"-" * 4  # too small: untouched
    big = Hostile(len(raw))
    assert s.read_into(big, "x") == len(raw) and bytes(memoryview(big)) == raw
    assert not s.closed and _resizable(big)
    s.close()


@pytest.mark.skipif(not hasattr(bytearray, "__buffer__"), reason="__buffer__ in Python: 3.12+")
def test_read_into_buffer_method_that_closes_the_store() -> None:
    s = Store()
    backing = bytearray(256)

    class Closing:
        def __buffer__(self, flags: int) -> memoryview:
            s.close()
            return memoryview(backing)

    with pytest.raises(ss.Closed):
        s.read_into(Closing(), "x")  # type: ignore[arg-type]
    assert _resizable(backing)


class _DuringRead:
    """A Lib whose read_into runs ``check`` just before the library writes."""

    def __init__(self, lib: Any, check: Callable[[], None]) -> None:
        self.lib, self.check = lib, check

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.lib, attr)

    def read_into(self, *args: Any) -> Any:
        self.check()
        return self.lib.read_into(*args)


def test_read_into_holds_the_buffer_for_the_call() -> None:
    with Store() as s:
        s.upsert({"session_id": "x", "pad": "p" * 300})
        lib = s._lib
        seen: List[str] = []

        class Buffer(bytearray):  # a subclass: weak references, and the memoryview path
            pass

        for make in (bytearray, Buffer, lambda n: memoryview(bytearray(n))[10:]):
            holder: List[Any] = [make(1000)]
            target = holder[0]
            backing = target.obj if isinstance(target, memoryview) else target
            ref = weakref.ref(backing) if isinstance(backing, Buffer) else None

            def check() -> None:
                with pytest.raises(BufferError):
                    backing.extend(b"xx")  # a bytearray cannot be resized while the library may write
                with pytest.raises(BufferError):
                    backing.clear()
                holder.clear()  # the caller's own references gone mid-call
                gc.collect()
                assert ref is None or ref() is not None
                seen.append(type(target).__name__)

            s._lib = _DuringRead(lib, check)  # type: ignore[assignment]
            n = s.read_into(target, "x")
            s._lib = lib
            assert n is not None and bytes(memoryview(target)[:n]) == s.read_raw("x")
            if isinstance(target, memoryview):
                target.release()  # the caller's own export
            assert _resizable(backing)  # ours was released when the call returned
            if ref is not None:
                del target, backing
                gc.collect()
                assert ref() is None  # and nothing else keeps it
        assert seen == ["bytearray", "Buffer", "memoryview"]

        buf = bytearray(16)
        assert s.read_into(buf, "missing") is None and _resizable(buf)
        assert s.read_into(buf, "x") == len(s.read_raw("x") or b"") and _resizable(buf)  # too small
        with pytest.raises(ss.InvalidArgument):
            s.read_into(buf, "bad\0id")
        assert _resizable(buf)
        buf = bytearray(1000)
        s._lib = _DuringRead(lib, s.close)  # type: ignore[assignment]
        assert s.read_into(buf, "x") is not None  # closed during the call: the handle lives until it returns
        assert s.closed and _resizable(buf)
        with pytest.raises(ss.Closed):
            s.read_into(buf, "x")
        assert _resizable(buf)
        s._lib = lib


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

    with Store() as s:  # read_into: the export of the caller's buffer and its ctypes objects are freed
        s.upsert({"session_id": "r", "memory": {"pad": "y" * 1000}})
        buf, view = bytearray(2048), memoryview(bytearray(2048))[1:]
        read_into = s.read_into
        for _ in range(10_000):
            read_into(buf, "r"), read_into(view, "r"), read_into(buf, "missing")
        gc.collect()
        before = _rss_kib()
        for _ in range(50_000):  # a leak of 60 bytes a call (less than one object) would pass 8 MiB
            read_into(buf, "r"), read_into(view, "r"), read_into(buf, "missing")
        gc.collect()
        grown = _rss_kib() - before
        assert _resizable(buf)
    assert grown < 8 * 1024, f"RSS grew by {grown} KiB over 150k read_into calls"
