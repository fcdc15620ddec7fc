"""0.4: the Redis backend. The options (backend, url, namespace, connect_timeout_ms, command_timeout_ms),
checked here or by the library before any connection; the UNAVAILABLE status; a real round trip: two
stores on one url and namespace of a redis-server this file starts on a free loopback port, one writing
and the other reading, listing and following the feed; then the server killed (Unavailable) and started
again on the same port (the stores reconnect by themselves).

redis-server must be installed (the top-level `make test-deps` installs it): without it the round-trip
tests fail, they are not skipped."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import pytest

import sessionstore as ss
from sessionstore import Status, Store

START_TIMEOUT_S = 10.0


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's choice for a bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A redis-server of this test's own, on a loopback port, with no persistence (--save "",
    --appendonly no): a restart is an empty server."""

    def __init__(self, log_dir: Path) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail(
                "redis-server is not installed: the redis backend's tests need it (`make test-deps` at the "
                "top of the repository installs it)",
                pytrace=False,
            )
        self.exe = exe
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = log_dir / "redis-server.log"
        self.proc: Optional["subprocess.Popen[bytes]"] = None
        self.start()

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "the server is running"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"redis-server exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.kill()
                    pytest.fail(f"redis-server did not accept connections in {START_TIMEOUT_S} s:\n{self.log.read_text()}")
                time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    try:
        yield server
    finally:
        server.kill()


def unused_url() -> str:
    """A url where no server listens (connecting is refused at once)."""
    return f"redis://127.0.0.1:{free_port()}/0"


# --- the status ----------------------------------------------------------------------------------------


def test_unavailable_is_in_the_status_table() -> None:
    assert Status.UNAVAILABLE == 16 and Status.UNAVAILABLE.name == "UNAVAILABLE"
    entry = next(e for e in ss.STATUS_TABLE if e[0] == Status.UNAVAILABLE)
    assert entry == (Status.UNAVAILABLE, "unavailable", ss.Unavailable, False)
    assert issubclass(ss.Unavailable, ss.SessionStoreError)
    assert ss.Unavailable.status == 16 and ss.Unavailable.code == "UNAVAILABLE"
    e = ss._errors.make_error(16, "m")
    assert type(e) is ss.Unavailable and e.status == Status.UNAVAILABLE and e.code == "UNAVAILABLE" and e.message == "m"
    assert "Unavailable" in ss.__all__


# --- the options ----------------------------------------------------------------------------------------


def invalid(match: str, **config: object) -> ss.InvalidArgument:
    """Store(**config) and Store.open(**config) both raise InvalidArgument naming ``match``."""
    with pytest.raises(ss.InvalidArgument, match=match) as e:
        Store(**config)  # type: ignore[arg-type]
    assert e.value.status == Status.INVALID_ARGUMENT and e.value.code == "INVALID_ARGUMENT"
    with pytest.raises(ss.InvalidArgument, match=match):
        Store.open(**config)  # type: ignore[arg-type]
    return e.value


def test_redis_keys_need_backend_redis(tmp_path: Path) -> None:
    url = unused_url()
    invalid("namespace", namespace="app")
    invalid("namespace", backend="local", namespace="app")
    invalid("url", url=url)
    invalid("connect_timeout_ms", connect_timeout_ms=500)
    invalid("command_timeout_ms", command_timeout_ms=500, path=str(tmp_path / "d"))
    assert not (tmp_path / "d").exists()


def test_local_keys_are_refused_with_backend_redis(tmp_path: Path) -> None:
    # The library refuses these before it connects: the url has no server, so a connection attempt would
    # raise Unavailable instead.
    url = unused_url()
    e = invalid("path", backend="redis", url=url, path=tmp_path / "d")
    assert "redis" in e.message
    assert not (tmp_path / "d").exists()
    for key, value in (
        ("sync", "os"), ("sync_interval_ms", 5), ("compact_factor", 3), ("compact_min_bytes", 1),
        ("max_sessions", 10), ("max_bytes", 1000), ("user_max_sessions", 2), ("user_max_bytes", 100),
        ("when_full", "refuse"), ("sync", "interval"), ("max_sessions", 0),
    ):
        invalid(key, backend="redis", url=url, **{key: value})


def test_expiry_settings_are_the_namespaces(redis_server: RedisServer) -> None:
    ns = f"py-expiry-{os.getpid()}"
    with Store(backend="redis", url=redis_server.url, namespace=ns, idle_expiry_s=60, refresh_on_read=True) as store:
        store.upsert({"session_id": "s1", "user_id": "ava"})
        assert store.read("s1") is not None
        bounds = store.stats()["bounds"]
        assert (bounds["idle_expiry_s"], bounds["refresh_on_read"]) == (60, True)
        e = invalid("idle_expiry_s=60", backend="redis", url=redis_server.url, namespace=ns, idle_expiry_s=30)
        assert e.status == Status.INVALID_ARGUMENT


def test_redis_options_are_checked() -> None:
    url = unused_url()
    invalid("url", backend="redis")
    invalid("backend", backend="memcached", url=url)
    invalid("namespace", backend="redis", url=url, namespace="")
    invalid("namespace", backend="redis", url=url, namespace="n" * (ss.MAX_NAMESPACE_BYTES + 1))
    invalid("namespace", backend="redis", url=url, namespace="é" * 65)  # 130 bytes: counted in UTF-8
    invalid("url", backend="redis", url="")
    # Types and ranges, checked here.
    for key, value in (("backend", 1), ("url", b"redis://127.0.0.1:1/0"), ("namespace", 7)):
        config = dict({"backend": "redis", "url": url}, **{key: value})
        with pytest.raises(ss.InvalidArgumentType, match=key):
            Store(**config)  # type: ignore[arg-type]
    for key in ("connect_timeout_ms", "command_timeout_ms"):
        with pytest.raises(ss.InvalidArgument, match=f"{key} must be an integer from 1 to 18446744073709551615"):
            Store(backend="redis", url=url, **{key: 0})  # type: ignore[arg-type]
        with pytest.raises(ss.InvalidArgument, match=key):
            Store(backend="redis", url=url, **{key: 2**64})  # type: ignore[arg-type]
        for bad in (1.5, True, "100"):
            with pytest.raises(ss.InvalidArgumentType, match=key):
                Store(backend="redis", url=url, **{key: bad})  # type: ignore[arg-type]
    # The local backend by name is the default.
    with Store(backend="local") as s:
        assert s.upsert({"session_id": "l1"})["session_id"] == "l1"
        assert s.stats()["durability"] is None


def test_open_without_a_server_is_unavailable() -> None:
    started = time.monotonic()
    with pytest.raises(ss.Unavailable) as e:
        Store(backend="redis", url=unused_url(), connect_timeout_ms=1000)
    assert time.monotonic() - started < 30
    assert e.value.status == Status.UNAVAILABLE == 16 and e.value.code == "UNAVAILABLE" and e.value.message
    assert isinstance(e.value, ss.SessionStoreError)


# --- a real server --------------------------------------------------------------------------------------


def open_redis(server: RedisServer, namespace: str, mode: ss.Mode = "agent") -> Store:
    return Store.open(
        mode, backend="redis", url=server.url, namespace=namespace, connect_timeout_ms=2000, command_timeout_ms=5000
    )


def test_two_stores_share_one_namespace(redis_server: RedisServer) -> None:
    ns = f"pytest-{os.getpid()}"
    writer = open_redis(redis_server, ns)
    reader = Store(backend="redis", url=redis_server.url, namespace=ns)
    other = Store(backend="redis", url=redis_server.url, namespace=ns + "-other")
    try:
        assert reader.read("s1") is None and reader.get_all_session_ids() == []
        stored = writer.upsert({
            "session_id": "s1", "user_id": "ava", "agent_id": "helper",
            "session_data": {"session_name": "first chat"}, "memory": {"runs": [{"run_id": "r1"}]},
        })
        assert stored["session_type"] == "agent" and stored["version"] >= 1
        writer.upsert({"session_id": "s2", "user_id": "ben", "agent_id": "helper"})

        got = reader.read("s1")
        assert got == stored
        assert reader.exists("s1") and not reader.exists("nope")
        assert sorted(reader.get_all_session_ids()) == ["s1", "s2"]
        assert reader.get_all_session_ids(user_id="ava") == ["s1"]
        assert sorted(s["session_id"] for s in reader.get_all_sessions()) == ["s1", "s2"]
        page = reader.query(user_id="ava", session_name="first")
        assert page["total"] == 1 and page["sessions"][0]["session_id"] == "s1"
        assert reader.stats()["sessions"] == 2

        # Writes through the reader are seen by the writer; conditional writes across handles.
        appended = reader.append_runs("s1", [{"run_id": "r2"}])
        assert [r["run_id"] for r in appended["memory"]["runs"]] == ["r1", "r2"]
        with pytest.raises(ss.VersionMismatch):
            writer.upsert_if({"session_id": "s1", "user_id": "ava"}, stored["version"])
        assert writer.read("s1") == appended
        with pytest.raises(ss.PermissionDenied):
            reader.upsert({"session_id": "s1", "user_id": "eve"})

        # One change feed, whichever handle wrote.
        feed = reader.changes(0, ids_only=True)
        assert [(c["op"], c.get("session_id")) for c in feed["changes"]] == [
            ("upsert", "s1"), ("upsert", "s2"), ("upsert", "s1"),
        ]
        assert feed["store"] == writer.stats()["feed"]["store"]

        # Another namespace on the same server is another store.
        assert other.read("s1") is None and other.get_all_session_ids() == []
        assert reader.delete_session("s2") == 1 and writer.read("s2") is None
    finally:
        for s in (writer, reader, other):
            s.close()


def test_a_dead_server_is_unavailable_and_the_store_reconnects(redis_server: RedisServer) -> None:
    ns = f"pytest-dead-{os.getpid()}"
    a = open_redis(redis_server, ns)
    b = open_redis(redis_server, ns)
    shared = a.share()
    try:
        a.upsert({"session_id": "s1", "user_id": "ava"})
        assert b.read("s1") is not None
        redis_server.kill()

        calls: List[Callable[[], object]] = [
            lambda: b.read("s1"),
            lambda: a.upsert({"session_id": "s2"}),
            lambda: b.get_all_session_ids(),
            lambda: shared.stats(),
            lambda: a.changes(0),
        ]
        for call in calls:
            with pytest.raises(ss.Unavailable) as e:
                call()
            assert e.value.status == Status.UNAVAILABLE and e.value.code == "UNAVAILABLE" and e.value.message

        # Back on the same port, empty (no persistence): the stores reconnect by themselves.
        redis_server.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                assert b.read("s1") is None
                break
            except ss.Unavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        a.upsert({"session_id": "s3"})
        assert b.get_all_session_ids() == ["s3"] and shared.exists("s3")
    finally:
        for s in (a, b, shared):
            s.close()
