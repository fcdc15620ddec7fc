"""The ctypes bindings against include/sessionstore.h: every function's arity, and every call site of the
hot functions (bound without argtypes, where a wrong number of arguments would be undefined behaviour)."""

import ctypes
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import sessionstore as ss
from sessionstore import Store
from sessionstore._native import FUNCTIONS, Lib

HEADER = Path(__file__).resolve().parents[3] / "include" / "sessionstore.h"


def header_arities() -> Dict[str, int]:
    if not HEADER.is_file():
        pytest.skip(f"no header at {HEADER} (tests run from a checkout)")
    text = HEADER.read_text()
    out = {}
    for m in re.finditer(r"^(?:const )?\w+ \*?(ss_\w+)\(([^)]*)\);", text, re.M):
        params = " ".join(m.group(2).split())
        out[m.group(1)] = 0 if params == "void" else params.count(",") + 1
    return out


def test_functions_table_matches_the_header() -> None:
    arities = header_arities()
    assert arities["ss_rename_session"] == 7 and arities["ss_delete_session"] == 5  # the parse works
    for attr, (name, arity) in FUNCTIONS.items():
        assert arities.get(name) == arity, f"{attr}: {name} has {arities.get(name)} parameters, FUNCTIONS says {arity}"
    assert set(arities) - {name for name, _ in FUNCTIONS.values()} == {"ss_read_with"}  # not used by Python
    with Store() as st:
        lib: Lib = st._lib
    for attr, (_name, arity) in FUNCTIONS.items():
        argtypes = getattr(lib, attr).argtypes
        assert argtypes is None or len(argtypes) == arity, attr


class CheckedLib:
    """A Lib whose functions check the number of arguments of every call against the header."""

    def __init__(self, lib: Lib, arities: Dict[str, int]) -> None:
        self._lib = lib
        self._arities = arities
        self.calls: List[Tuple[str, int]] = []

    def __getattr__(self, attr: str) -> Any:
        real = getattr(self._lib, attr)
        if attr not in FUNCTIONS:
            return real
        name = FUNCTIONS[attr][0]
        want = self._arities[name]

        def call(*args: Any) -> Any:
            assert len(args) == want, f"{name} called with {len(args)} arguments, the header has {want}"
            self.calls.append((name, len(args)))
            return real(*args)

        return call


def test_every_call_site_passes_every_argument() -> None:
    arities = header_arities()
    s = Store()
    checked = CheckedLib(s._lib, arities)
    s._lib = checked  # type: ignore[assignment]
    team = s.share("team")  # the shared handle inherits the checked lib
    s.upsert({"session_id": "a", "user_id": "u"})
    s.upsert_raw(b'{"session_id":"b"}', return_stored=False)
    s.upsert_many([{"session_id": "c"}])
    team.upsert({"session_id": "t"})
    s.read("a"), s.read_raw("a", "u"), s.read("missing"), s.exists("a"), s.exists("a", "v")
    s.read_into(bytearray(4096), "a"), s.read_into(bytearray(), "a", "u"), s.read_into(memoryview(bytearray(9)), "zz")
    s.upsert({"session_id": "big", "pad": "x" * (2 << 20)})  # above read_raw's bound: ss_read; then above its first buffer
    s.read_raw("big"), s.upsert({"session_id": "big", "pad": "x" * 100_000}), s.read_raw("big")
    s.get_all_session_ids("u", "x"), s.get_all_sessions(), s.get_recent_sessions(limit=3)
    s.query(session_type="any", fields="metadata"), s.query_raw()
    s.rename_session("a", "N"), s.rename_session("a", "M", "u")
    with pytest.raises(ss.NotFound):
        s.rename_session("a", "x", "v")  # the error path frees the message: ss_string_free
    with pytest.raises(ss.PermissionDenied):
        s.upsert({"session_id": "a", "user_id": "v"})
    s.delete_session("b"), s.delete_session("b", "u"), s.delete_sessions(["c"]), s.delete_sessions(["c"], "u")
    s.delete_sessions_raw(b'["zz"]', None)
    s.stats(), s.export(), s.sync()
    s.import_({"i": {"session_id": "i"}})
    # 0.3: compare-and-set, append, the change feed; success and error paths, stored JSON or none.
    v = s.upsert_if({"session_id": "cas"}, 0)["version"]
    s.upsert_if_raw(b'{"session_id":"cas"}', v, return_stored=False)
    with pytest.raises(ss.VersionMismatch):
        s.upsert_if({"session_id": "cas"}, v)
    s.append_runs("cas", [{"run_id": "r1"}]), s.append_runs_raw("cas", b'[2]', None, return_stored=False)
    with pytest.raises(ss.NotFound):
        s.append_runs("cas", [3], "someone")
    v = s.read("cas")["version"]  # type: ignore[index]
    s.rename_session_if("cas", "C", v), s.rename_session_if_raw("a", "A", s.read("a")["version"], "u")  # type: ignore[index]
    with pytest.raises(ss.VersionMismatch):
        s.rename_session_if("cas", "D", v)
    with pytest.raises(ss.VersionMismatch):
        s.delete_session_if("cas", v)
    s.delete_session_if("cas", v + 1), s.delete_session_if("gone", 0, "u")
    s.changes(0), s.changes_raw(1, 2, ids_only=True), s.export_with_seq(), s.export_with_seq_raw()
    team.drop()
    team.close()
    s.close()
    called = {name for name, _ in checked.calls}
    expected = {name for attr, (name, _) in FUNCTIONS.items() if attr not in ("version", "status_str_raw", "open")}
    assert expected - called == set(), "not exercised here"


def test_typed_functions_refuse_wrong_calls() -> None:
    with Store() as s:
        lib, h = s._lib, s._hl[0]
        out, n, err = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_void_p()
        # The previous C API's arity (no user_id) fails in Python instead of reaching C.
        with pytest.raises(TypeError):
            lib.rename(h, b"a", b"n", ctypes.byref(out), ctypes.byref(n), ctypes.byref(err))
        with pytest.raises(TypeError):
            lib.delete(h, b"a", ctypes.byref(n), ctypes.byref(err))
        with pytest.raises(TypeError):
            lib.delete_many(h, b"[]", ctypes.c_size_t(2), ctypes.byref(n), ctypes.byref(err))
        with pytest.raises(ctypes.ArgumentError):
            lib.delete(h, "a", None, ctypes.byref(n), ctypes.byref(err))  # str where char * (bytes) goes
        assert lib.delete(h, b"a", b"u", ctypes.byref(n), ctypes.byref(err)) == 0 and n.value == 0
        # The calls of 0.3 are declared too: their uint64 goes where the header puts it, or nowhere.
        with pytest.raises(TypeError):
            lib.delete_if(h, b"a", None, ctypes.byref(n), ctypes.byref(err))  # no expected_version
        with pytest.raises(TypeError):
            lib.upsert_if(h, b"{}", ctypes.c_size_t(2), ctypes.byref(out), ctypes.byref(n), ctypes.byref(err))
        with pytest.raises(TypeError):
            lib.changes(h, 0, 1, ctypes.byref(out), ctypes.byref(n), ctypes.byref(err))  # no options
        with pytest.raises(ctypes.ArgumentError):
            lib.rename_if(h, b"a", b"n", None, "1", ctypes.byref(out), ctypes.byref(n), ctypes.byref(err))
        seq = ctypes.c_uint64(99)
        assert lib.export_with_seq(h, ctypes.byref(out), ctypes.byref(n), ctypes.byref(seq), ctypes.byref(err)) == 0
        assert seq.value == 0 and ctypes.string_at(out.value, n.value) == b"{}"
        lib.free(out.value)


def test_version_check_matches_the_header() -> None:
    """The binding loads only libraries of the header's major.minor, and this is that library."""
    if not HEADER.is_file():
        pytest.skip(f"no header at {HEADER} (tests run from a checkout)")
    text = HEADER.read_text()
    minor = int(re.search(r"#define SS_VERSION_MINOR (\d+)", text).group(1))  # type: ignore[union-attr]
    major = int(re.search(r"#define SS_VERSION_MAJOR (\d+)", text).group(1))  # type: ignore[union-attr]
    string = re.search(r'#define SS_VERSION_STRING "([^"]+)"', text).group(1)  # type: ignore[union-attr]
    from sessionstore import _native

    assert (_native.ABI_MAJOR, _native.ABI_MINOR) == (major, minor) == (0, 4)
    assert ss.version() == string == ss.__version__
    full = int(re.search(r"SS_STATUS_FULL = (\d+)", text).group(1))  # type: ignore[union-attr]
    assert full == ss.Status.FULL
    unavailable = int(re.search(r"SS_STATUS_UNAVAILABLE = (\d+)", text).group(1))  # type: ignore[union-attr]
    assert unavailable == ss.Status.UNAVAILABLE


def test_constants_match_the_header() -> None:
    """The binding's constants are the header's ``#define``s (the library's single source of truth): a
    change there that did not reach Python fails here."""
    if not HEADER.is_file():
        pytest.skip(f"no header at {HEADER} (tests run from a checkout)")
    defines = {m.group(1): int(m.group(2)) for m in re.finditer(r"^#define SS_(\w+) (\d+)$", HEADER.read_text(), re.M)}
    for name in ("MAX_CHANGES", "DEFAULT_FEED_BYTES", "DEFAULT_CONNECT_TIMEOUT_MS", "DEFAULT_COMMAND_TIMEOUT_MS",
                 "MAX_NAMESPACE_BYTES"):
        assert getattr(ss, name) == defines[name], name
    assert (ss._native.ABI_MAJOR, ss._native.ABI_MINOR) == (defines["VERSION_MAJOR"], defines["VERSION_MINOR"])
