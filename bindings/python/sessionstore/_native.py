"""Finding, loading and binding the shared library (ctypes; no compiler at install time).

ctypes.CDLL (not PyDLL) releases the GIL around every foreign call, so threads calling the library run
in parallel. Every ``char *`` the library hands out is copied with its byte length and freed with the
library's own ``ss_string_free``.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from ctypes import POINTER, c_char_p, c_size_t, c_uint32, c_uint64, c_void_p
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ._errors import Internal, check_status_table

# The library's major.minor this binding was written for (0.x: a minor change may break the ABI).
ABI_MAJOR = 0
ABI_MINOR = 4

if sys.platform == "win32":  # pragma: no cover - the project builds for Linux and macOS
    LIB_FILE = "sessionstore.dll"
elif sys.platform == "darwin":  # pragma: no cover
    LIB_FILE = "libsessionstore.dylib"
else:
    LIB_FILE = "libsessionstore.so"

_HERE = Path(__file__).resolve().parent
#: The copy bundled in the wheel (and in ``pip install ./bindings/python`` after ``make lib``).
BUNDLED_LIBRARY_PATH = _HERE / "_lib" / LIB_FILE
#: The project's build output, for a checkout used in place (bindings/python/sessionstore -> ../../../target).
REPO_LIBRARY_PATH = _HERE.parent.parent.parent / "target" / "release" / LIB_FILE

_P = POINTER(c_void_p)
_N = POINTER(c_size_t)
_U64 = POINTER(c_uint64)

#: Lib attribute -> (C function, number of parameters in include/sessionstore.h). The hot calls have no
#: argtypes (see Lib), so nothing but this table and the test that checks call sites against it stands
#: between a call with a wrong number of arguments and undefined behaviour.
FUNCTIONS: Dict[str, Tuple[str, int]] = {
    "version": ("ss_version", 0),
    "status_str_raw": ("ss_status_str", 1),
    "free": ("ss_string_free", 1),
    "open": ("ss_store_open", 4),
    "share": ("ss_store_share", 4),
    "close": ("ss_store_close", 1),
    "sync": ("ss_store_sync", 2),
    "upsert": ("ss_upsert", 6),
    "upsert_if": ("ss_upsert_if", 7),
    "upsert_many": ("ss_upsert_many", 6),
    "read": ("ss_read", 6),
    "read_into": ("ss_read_into", 7),
    "all_ids": ("ss_get_all_session_ids", 6),
    "all": ("ss_get_all_sessions", 6),
    "recent": ("ss_get_recent_sessions", 7),
    "query": ("ss_query", 6),
    "rename": ("ss_rename_session", 7),
    "rename_if": ("ss_rename_session_if", 8),
    "append_runs": ("ss_append_runs", 8),
    "delete": ("ss_delete_session", 5),
    "delete_if": ("ss_delete_session_if", 6),
    "delete_many": ("ss_delete_sessions", 6),
    "drop": ("ss_drop", 3),
    "stats": ("ss_stats", 4),
    "export": ("ss_export", 4),
    "export_with_seq": ("ss_export_with_seq", 5),
    "changes": ("ss_changes", 8),
    "import_": ("ss_import", 5),
}


class Lib:
    """One loaded library with its functions typed."""

    def __init__(self, path: str) -> None:
        self.path = path
        so = ctypes.CDLL(path)
        self._so = so

        def fn(name: str, restype: Any, *argtypes: Any) -> Any:
            f = getattr(so, name)
            f.restype = restype
            f.argtypes = list(argtypes)
            return f

        self.version = fn("ss_version", c_char_p)
        self.status_str_raw = fn("ss_status_str", c_char_p, c_uint32)
        self.free = fn("ss_string_free", None, c_void_p)
        self.open = fn("ss_store_open", c_uint32, c_char_p, c_size_t, _P, _P)
        self.share = fn("ss_store_share", c_uint32, c_void_p, c_char_p, _P, _P)
        self.close = fn("ss_store_close", None, c_void_p)
        self.sync = fn("ss_store_sync", c_uint32, c_void_p, _P)
        # The hot calls on a store handle are bound without argtypes, which makes a call about twice as
        # fast as ctypes' per-argument conversion: the caller (_store.py) passes only values of the exact
        # C types (the handle as a c_void_p, lengths as c_size_t, the limit as c_int64, bytes or None for
        # const char *, a c_char array or byref() of one for ss_read_into's buffer, byref() of its own
        # out-parameters) and exactly as many as the C prototype has (FUNCTIONS;
        # tests/test_native.py checks every call site against include/sessionstore.h). so[name] is a new
        # function object each time, so these never share settings with the typed ones.
        def raw(name: str) -> Any:
            f = so[name]
            f.restype = c_uint32
            return f

        self.upsert = raw("ss_upsert")
        self.upsert_many = raw("ss_upsert_many")
        self.read = raw("ss_read")
        self.read_into = raw("ss_read_into")
        self.all_ids = raw("ss_get_all_session_ids")
        self.all = raw("ss_get_all_sessions")
        self.recent = raw("ss_get_recent_sessions")
        self.query = raw("ss_query")
        # The other calls are not hot: declared with argtypes, so a call with a missing argument or one of
        # the wrong type raises (ctypes.ArgumentError, TypeError) instead of reaching C. So are the calls of
        # 0.3 (compare-and-set, append, the change feed); their uint64 arguments (expected_version, after)
        # are range-checked in _store.py first, since ctypes would wrap an out-of-range int silently.
        h, s, n, u64 = c_void_p, c_char_p, c_size_t, c_uint64
        self.upsert_if = fn("ss_upsert_if", c_uint32, h, s, n, u64, _P, _N, _P)
        self.rename = fn("ss_rename_session", c_uint32, h, s, s, s, _P, _N, _P)
        self.rename_if = fn("ss_rename_session_if", c_uint32, h, s, s, s, u64, _P, _N, _P)
        self.append_runs = fn("ss_append_runs", c_uint32, h, s, s, s, n, _P, _N, _P)
        self.delete = fn("ss_delete_session", c_uint32, h, s, s, _N, _P)
        self.delete_if = fn("ss_delete_session_if", c_uint32, h, s, s, u64, _N, _P)
        self.delete_many = fn("ss_delete_sessions", c_uint32, h, s, n, s, _N, _P)
        self.drop = fn("ss_drop", c_uint32, h, _N, _P)
        self.stats = fn("ss_stats", c_uint32, h, _P, _N, _P)
        self.export = fn("ss_export", c_uint32, h, _P, _N, _P)
        self.export_with_seq = fn("ss_export_with_seq", c_uint32, h, _P, _N, _U64, _P)
        self.changes = fn("ss_changes", c_uint32, h, u64, n, s, n, _P, _N, _P)
        self.import_ = fn("ss_import", c_uint32, h, s, n, _N, _P)

        v = self.version()
        self.lib_version: str = v.decode("utf-8", "replace") if v else ""
        parts = self.lib_version.split(".")
        try:
            major, minor = int(parts[0]), int(parts[1])
        except (IndexError, ValueError):
            major, minor = -1, -1
        if major != ABI_MAJOR or (ABI_MAJOR == 0 and minor != ABI_MINOR):
            raise RuntimeError(
                f"library version {self.lib_version!r} is not compatible with this binding "
                f"(expects {ABI_MAJOR}.{ABI_MINOR}.x)"
            )
        check_status_table(self.status_str)
        for attr, (_name, arity) in FUNCTIONS.items():
            declared = getattr(self, attr).argtypes
            if declared is not None and len(declared) != arity:  # pragma: no cover - a bug in this file
                raise AssertionError(f"{attr}: {len(declared)} argtypes, the C function has {arity} parameters")

    def status_str(self, status: int) -> str:
        raw = self.status_str_raw(status)
        return raw.decode("utf-8", "replace") if raw else "unknown status"


_loaded: Dict[str, Lib] = {}
_found: Optional[Lib] = None
_lock = threading.Lock()


def _candidates(library: Optional[str]) -> List[Tuple[str, Path, bool]]:
    out: List[Tuple[str, Path, bool]] = []
    if library is not None:
        if not isinstance(library, (str, os.PathLike)):
            from ._errors import InvalidArgumentType

            raise InvalidArgumentType(f"library must be a path (str or os.PathLike), got {type(library).__name__}")
        text = os.fspath(library)
        if not text:
            from ._errors import InvalidArgument

            raise InvalidArgument("library must not be empty")
        out.append(("library argument", Path(text).resolve(), True))
    env = os.environ.get("SESSIONSTORE_LIB")
    if env:
        out.append(("SESSIONSTORE_LIB", Path(env).resolve(), True))
    out.append(("bundled copy", BUNDLED_LIBRARY_PATH, False))
    out.append(("build output", REPO_LIBRARY_PATH, False))
    return out


def load_library(library: Optional[str] = None) -> Lib:
    """Finds and binds the shared library: the ``library`` argument, else ``$SESSIONSTORE_LIB``, else the
    copy bundled in the package (``sessionstore/_lib/``), else the checkout's ``target/release``. A path
    given explicitly (argument or variable) is the only one tried: missing or unloadable, it is an error
    naming it, never a reason to load another copy."""
    global _found
    with _lock:
        cands = _candidates(library)
        i = 0
        if not cands[0][2]:
            if _found is not None:
                return _found
            i = next((k for k, c in enumerate(cands) if c[1].exists()), -1)
            if i < 0:
                lines = "".join(f"\n  {p} ({src}): not found" for src, p, _ in cands)
                raise Internal(
                    f"sessionstore: cannot find the native library ({LIB_FILE}):{lines}\n"
                    "Build it with `make -C <repo> lib`, set SESSIONSTORE_LIB, or pass library=...",
                )
        src, path, explicit = cands[i]
        hit = _loaded.get(str(path))
        if hit is not None:
            if not explicit:
                _found = hit
            return hit
        not_tried = "".join(f"\n  {p} ({s}): not tried, {src} comes first" for s, p, _ in cands[i + 1 :])
        if not path.exists():
            raise Internal(
                f"sessionstore: cannot find the native library ({LIB_FILE}):\n  {path} ({src}): not found{not_tried}"
            )
        try:
            lib = Lib(str(path))
        except (OSError, AttributeError, RuntimeError) as e:
            raise Internal(f"sessionstore: cannot load the native library:\n  {path} ({src}): {e}{not_tried}") from e
        _loaded[str(path)] = lib
        if not explicit:
            _found = lib
        return lib
