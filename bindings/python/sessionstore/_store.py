"""The Store class: one handle on a session store (include/sessionstore.h)."""

from __future__ import annotations

import collections.abc as _abc
import datetime as _dt
import json
import math
import operator
import os
import threading
from ctypes import byref, c_char, c_int64, c_size_t, c_uint64, c_void_p, sizeof, string_at
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypedDict,
    Union,
    overload,
)

from ._errors import (
    Closed,
    Internal,
    InvalidArgument,
    InvalidArgumentType,
    InvalidJson,
    SessionStoreError,
    Status,
    make_error,
)
from ._decode import loads as _loads
from ._native import Lib, load_library

if TYPE_CHECKING:
    from types import TracebackType

    from _typeshed import WriteableBuffer

Session = Dict[str, Any]
"""A session as a dict in Agno's shape: ``session_id`` required, snake_case fields, unknown ones kept. A
stored session also carries ``session_type``, ``created_at``, ``updated_at`` and ``version``, which the store
sets (``version``: the number of the change that last wrote it, see :meth:`Store.upsert_if`)."""
Mode = Literal["agent", "team", "workflow", "workflow_v2"]
SessionTypes = Union[Mode, Literal["any"], Sequence[Mode]]
"""What :meth:`Store.query` takes as ``session_type``: a type, ``"any"``, or a non-empty list of types."""
Fields = Union[Literal["all", "metadata"], Sequence[str]]
"""What :meth:`Store.query` takes as ``fields``: ``"all"``, ``"metadata"``, or at most 64 top-level names."""
NonFiniteNumbers = Literal["reject", "null"]
SyncPolicy = Literal["always", "interval", "os"]
"""When a durable store fsyncs its journal: before each mutation returns (``"always"``, the default), every
``sync_interval_ms`` from a background thread (``"interval"``), or only on close, compaction and
:meth:`Store.sync` (``"os"``)."""
WhenFull = Literal["evict", "refuse"]
"""What a store with bounds does with a write that would take it past one (``when_full``): evict the least
recently written sessions first (``"evict"``, the default; for a user over a quota, that user's own), or
refuse the write with :class:`Full` (``"refuse"``)."""
Backend = Literal["local", "redis"]
"""Where a store's data lives (``backend``): in this process, in memory or durable with ``path``
(``"local"``, the default), or on a Redis 7+ (or Valkey) server at ``url``, shared by every process that
opens the same ``namespace`` there (``"redis"``)."""
JsonInput = Union[str, bytes, bytearray, memoryview]
"""What the ``*_raw`` methods take: JSON text as ``str`` or UTF-8 ``bytes`` (any bytes-like is copied first)."""
Timestamp = Union[int, _dt.datetime]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1
SIZE_MAX = (1 << (8 * sizeof(c_size_t))) - 1  # ctypes.sizeof: the C type's size (__sizeof__ is the Python object's)
MODES: Tuple[str, ...] = ("agent", "team", "workflow", "workflow_v2")
#: The most changes one :meth:`Store.changes` call returns, whatever its ``limit`` (``SS_MAX_CHANGES``).
MAX_CHANGES = 10000
#: The default ``feed_bytes`` of a store: how much of its change feed it keeps (``SS_DEFAULT_FEED_BYTES``, 16 MiB).
DEFAULT_FEED_BYTES = 16 * 1024 * 1024
#: How long a Redis store waits to connect to its server by default, in milliseconds (``connect_timeout_ms``).
DEFAULT_CONNECT_TIMEOUT_MS = 2000
#: How long a Redis store waits for one reply of its server by default, in milliseconds (``command_timeout_ms``).
DEFAULT_COMMAND_TIMEOUT_MS = 10000
#: The longest ``namespace`` a Redis store accepts, in UTF-8 bytes (it is part of every key).
MAX_NAMESPACE_BYTES = 128


class QueryResult(TypedDict):
    """What :meth:`Store.query` returns: one page of sessions and the number of matches before paging."""

    sessions: List[Session]
    total: int


class ByType(TypedDict):
    agent: int
    team: int
    workflow: int
    workflow_v2: int


class RecoveryStats(TypedDict):
    """What opening a durable store found (``stats()["durability"]["recovery"]``)."""

    snapshot_records: int
    journal_records: int
    torn_bytes_dropped: int
    files_removed: int


class DurabilityStats(TypedDict):
    """A durable store's files (``stats()["durability"]``): the directory as given, the sync policy, the
    bytes of journal and snapshot a reopen would read, the snapshots written (and failed) since the open,
    whether an fsync failed (``poisoned``) and what the open recovered."""

    path: str
    sync: SyncPolicy
    journal_bytes: int
    snapshot_bytes: int
    compactions: int
    compaction_failures: int
    last_compaction_ms: int
    last_compaction_error: Optional[str]
    poisoned: bool
    recovery: RecoveryStats


class FeedStats(TypedDict):
    """The change feed (``stats()["feed"]``, see :meth:`Store.changes`): ``store`` is the store's identity
    (32 hexadecimal digits, as in :class:`ChangesResult`), ``latest`` the number of the store's last
    change, ``oldest`` that of the oldest change the feed keeps (``latest + 1`` when it keeps none),
    ``kept`` how many it keeps, ``bytes`` what they cost against ``budget`` (the store's
    ``feed_bytes``)."""

    store: str
    latest: int
    oldest: int
    kept: int
    bytes: int
    budget: int


class BoundsStats(TypedDict):
    """The store's bounds (``stats()["bounds"]``, see :class:`Store`): what is held against them,
    ``sessions`` and ``bytes`` (stored JSON) of every type, sessions expired but not yet reclaimed
    included; each bound of the config (``None``: no bound); and how many sessions were reclaimed after
    they ``expired`` and how many were ``evicted`` since the store was opened."""

    sessions: int
    bytes: int
    max_sessions: Optional[int]
    max_bytes: Optional[int]
    user_max_sessions: Optional[int]
    user_max_bytes: Optional[int]
    idle_expiry_s: Optional[int]
    max_age_s: Optional[int]
    refresh_on_read: bool
    when_full: WhenFull
    expired: int
    evicted: int


class Stats(TypedDict):
    """What :meth:`Store.stats` returns; ``sessions``, ``bytes`` and ``by_type`` count every type (sessions
    expired but not yet reclaimed included); ``feed`` describes the change feed, ``bounds`` the store's
    bounds; ``durability`` is ``None`` for a store in memory."""

    mode: str
    sessions: int
    bytes: int
    by_type: ByType
    feed: FeedStats
    bounds: BoundsStats
    durability: Optional[DurabilityStats]


class _ChangeBase(TypedDict):
    seq: int
    session_type: Mode


class _UpsertChangeBase(_ChangeBase):
    op: Literal["upsert"]
    session_id: str
    version: int


class UpsertChange(_UpsertChangeBase, total=False):
    """A session stored (by an upsert, a batch, a rename, an append or an import): ``version`` is its new
    version (equal to ``seq``), ``session`` the session as that change stored it (absent with
    ``ids_only=True``)."""

    session: Session


class DeleteChange(_ChangeBase):
    """A session removed (by a delete, a conditional delete or a bulk delete)."""

    op: Literal["delete"]
    session_id: str


class ExpireChange(_ChangeBase):
    """A session removed because it expired (the store's ``idle_expiry_s`` or ``max_age_s``)."""

    op: Literal["expire"]
    session_id: str


class EvictChange(_ChangeBase):
    """A session evicted to make room for a write (the store's ``max_sessions``, ``max_bytes``,
    ``user_max_sessions`` or ``user_max_bytes`` under ``when_full="evict"``)."""

    op: Literal["evict"]
    session_id: str


class DropChange(_ChangeBase):
    """Every session of ``session_type`` removed (:meth:`Store.drop`)."""

    op: Literal["drop"]


Change = Union[UpsertChange, DeleteChange, ExpireChange, EvictChange, DropChange]
"""One change of the feed; ``op`` (``"upsert"``, ``"delete"``, ``"expire"``, ``"evict"`` or ``"drop"``) says
which, and narrows the type. ``"delete"``, ``"expire"`` and ``"evict"`` have the same shape (a session
removed: by a call, by expiry, by eviction); a mirror removes the session for each."""


class ChangesResult(TypedDict):
    """What :meth:`Store.changes` returns: the changes (oldest first), ``next``, the ``after`` to pass next
    time (the last change given, or ``after`` when there were none), ``latest``, the number of the
    store's last change, and ``store``, the store's identity (32 hexadecimal digits).

    Change numbers are a store's own and start again from 1 in a store made anew (an in-memory store,
    or a durable store in another directory); a durable store keeps its identity across reopens (the
    file ``IDENTITY`` in its directory). A follower keeps ``store`` with the number it remembers, and
    starts again from :meth:`Store.export_with_seq` when the identity it sees differs."""

    changes: List[Change]
    next: int
    latest: int
    store: str


# Integer config keys and the range the library accepts (C: size_t, uint64_t).
_INT_CONFIG: Dict[str, Tuple[int, int]] = {
    "max_session_bytes": (1, SIZE_MAX),
    "sync_interval_ms": (1, UINT64_MAX),
    "compact_factor": (1, UINT64_MAX),
    "compact_min_bytes": (0, UINT64_MAX),
    "feed_bytes": (0, SIZE_MAX),
    "idle_expiry_s": (0, UINT64_MAX),
    "max_age_s": (0, UINT64_MAX),
    "max_sessions": (0, SIZE_MAX),
    "max_bytes": (0, SIZE_MAX),
    "user_max_sessions": (0, SIZE_MAX),
    "user_max_bytes": (0, SIZE_MAX),
    "connect_timeout_ms": (1, UINT64_MAX),
    "command_timeout_ms": (1, UINT64_MAX),
}
# Boolean config keys (JSON true/false; an int or a str is refused here, not guessed at).
_BOOL_CONFIG: Tuple[str, ...] = ("refresh_on_read",)


# --- argument conversion: runs before the handle is taken and returns only bytes/ints made here ----------

_str_encode = str.encode


def _describe(value: object) -> str:
    return "None" if value is None else type(value).__name__


def _id(value: object, what: str) -> bytes:
    """A NUL-terminated UTF-8 id. Only ``str`` (subclasses too: their own methods are not called)."""
    if not isinstance(value, str):
        raise InvalidArgumentType(f"{what} must be a str, got {_describe(value)}")
    try:
        b = _str_encode(value, "utf-8")
    except UnicodeEncodeError as e:
        raise InvalidArgument(f"{what} is not valid UTF-8 text: {e.reason}") from None
    if b"\0" in b:
        raise InvalidArgument(f"{what} must not contain NUL characters")
    return b


def _opt_id(value: object, what: str) -> Optional[bytes]:
    return None if value is None else _id(value, what)


def _payload(value: object, what: str) -> bytes:
    """JSON text as bytes of our own: ``bytes`` as is (immutable), ``str`` encoded, other bytes-likes
    copied (a ``bytearray`` could change size while the library reads it with the GIL released)."""
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        try:
            return _str_encode(value, "utf-8")
        except UnicodeEncodeError as e:
            raise InvalidJson(f"{what} is not valid UTF-8 text: {e.reason}") from None
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(memoryview(value))
        except (TypeError, ValueError) as e:  # a released memoryview
            raise InvalidArgumentType(f"{what} cannot be read: {e}") from None
    raise InvalidArgumentType(f"{what} must be JSON text (str or bytes), got {_describe(value)}")


_ENCODERS = {
    allow_nan: (
        json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=allow_nan).encode,
        json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=allow_nan).encode,
    )
    for allow_nan in (False, True)
}


def _dumps(value: object, what: str, allow_nan: bool = False) -> bytes:
    """Compact JSON as UTF-8 bytes; lone surrogates are written as \\u escapes, which JSON allows and the
    store keeps. NaN and infinities are refused here unless ``allow_nan`` (sessions: written as Python
    writes them, NaN, Infinity, -Infinity, for the store to refuse or store as null by its
    ``non_finite_numbers``); queries and configs never take them."""
    utf8, ascii_ = _ENCODERS[allow_nan]
    try:
        text = utf8(value)
    except (TypeError, ValueError, RecursionError) as e:
        raise InvalidJson(f"{what} cannot be serialised to JSON: {e}") from None
    try:
        return _str_encode(text, "utf-8")
    except UnicodeEncodeError:
        return _str_encode(ascii_(value), "ascii")


def _int(value: object, what: str, lo: int, hi: int) -> int:
    """An integer (``int`` or anything with ``__index__``, not ``bool``) in [lo, hi], the range of the C
    type it reaches: never wrapped, rounded or clamped."""
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidArgumentType(f"{what} must be an int, got {_describe(value)}")
    try:
        n = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidArgumentType(f"{what} must be an int, got {_describe(value)}") from None
    if n < lo or n > hi:
        raise InvalidArgument(f"{what} must be an integer from {lo} to {hi}, got {n}")
    return int(n)


def _timestamp(value: object, what: str) -> int:
    if isinstance(value, _dt.datetime):
        return _int(math.floor(value.timestamp()), what, INT64_MIN, INT64_MAX)
    return _int(value, what, INT64_MIN, INT64_MAX)


def _path(value: object) -> str:
    """A directory as ``str`` (``os.PathLike`` is converted; ``bytes`` paths are not JSON text)."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise InvalidArgumentType(f"path must be a str or os.PathLike[str], got {_describe(value)}")
    return str.__str__(value)


def _opt_str(value: object, what: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentType(f"{what} must be a str, got {_describe(value)}")
    return str.__str__(value)


class Store:
    """A handle on a session store; thread-safe.

    ``Store(mode="agent", **config)`` (or :meth:`Store.open`) opens a new, empty store. ``mode`` is
    ``"agent"``, ``"team"``, ``"workflow"`` or ``"workflow_v2"``; ``library`` names the shared library to
    load (see the README). The library's other config keys:

    - ``max_session_bytes``: the largest session accepted (default 32 MiB);
    - ``non_finite_numbers``: ``"reject"`` (default) or ``"null"``. NaN, Infinity and -Infinity are not
      JSON, but Python writes them (``float("nan")`` in a dict given to :meth:`upsert`, or json.dumps
      text given to :meth:`upsert_raw`). ``"reject"`` raises :class:`InvalidJson` naming the word;
      ``"null"`` stores each as ``null`` (and so reads it back as ``None``). Handles shared from this
      store follow the same setting;
    - ``feed_bytes``: how much the change feed keeps (see :meth:`changes`), counted as the stored JSON of
      the sessions its changes stored and the ids they removed, plus 48 bytes a change (default 16 MiB,
      :data:`DEFAULT_FEED_BYTES`; 0 keeps none).

    Bounds (all optional; ``None`` or 0 is no bound; ``stats()["bounds"]`` reports them, a
    :class:`BoundsStats`):

    - ``idle_expiry_s`` (uint64): a session not written for more than this many seconds (by its ``updated_at``)
      expires;
    - ``refresh_on_read`` (bool): :meth:`read`, :meth:`read_into` and :meth:`exists` refresh the idle time
      too (needs ``idle_expiry_s``, else :class:`InvalidArgument`; listings and queries do not refresh).
      Reads are remembered in memory only: after a durable store reopens, idle time counts from
      ``updated_at``;
    - ``max_age_s`` (uint64): a session whose ``created_at`` is more than this many seconds old expires, however
      active;
    - ``max_sessions``, ``max_bytes`` (size_t): bounds on the sessions held, of every type, and on their
      stored JSON's bytes (the process holds about 1.3 times that);
    - ``user_max_sessions``, ``user_max_bytes`` (size_t): the same bounds for the sessions of each
      ``user_id`` (sessions without one are not counted);
    - ``when_full``: ``"evict"`` (default) or ``"refuse"`` (see :data:`WhenFull`). A write that would
      exceed a bound evicts the least recently written sessions first (with ``refresh_on_read``, reads
      count too, as a second chance); for a user over a quota, that user's own. With ``"refuse"`` it
      raises :class:`Full` and changes nothing. A write that cannot fit even in an empty store (or
      quota) raises :class:`Full` under either policy. The session a write replaces is never evicted to
      make room for it.

    An expired session is gone for every call from the moment it expires: :meth:`read` returns ``None``,
    listings, queries and exports leave it out, and a write stores a new session in its place. Its memory
    is reclaimed within about a second by a thread of the library (until then ``stats()`` counts it).
    Expiries and evictions are changes of the feed (``op`` ``"expire"``, ``"evict"``, see
    :meth:`changes`) and, in a durable store, are journaled.

    Durability (without ``path`` the store lives in memory and the other keys do nothing):

    - ``path``: a directory (``str`` or ``os.PathLike``; created if missing) that makes the store durable.
      Opening loads what it holds, and every mutation is journaled before it returns. One open store owns
      a directory: opening it again, in this process or another, raises :class:`Locked` until the last
      handle on the first is closed (use :meth:`share`); damaged files raise :class:`Corrupt`, a directory
      that cannot be created, read or locked :class:`IOFailure`;
    - ``sync``: ``"always"`` (default), ``"interval"`` or ``"os"`` (see :data:`SyncPolicy`);
    - ``sync_interval_ms``: the period of ``"interval"`` (default 1000, at least 1);
    - ``compact_factor`` (default 2, at least 1) and ``compact_min_bytes`` (default 64 MiB): a snapshot is
      written in the background when the journal exceeds both the live bytes times the factor and the
      minimum.

    Closing the last handle on a durable store fsyncs its journal and releases the directory; it cannot
    report a failure, so call :meth:`sync` first when you must know that everything is on disk.

    On a Redis server (``backend="redis"``, see :data:`Backend`): the store's data lives on a Redis 7+ (or
    Valkey) server, and every process, on any machine, that opens the same ``namespace`` at the same
    ``url`` shares it; every method works on it with the same semantics, each call atomic:

    - ``url`` (required with ``backend="redis"``): ``"redis://[user:password@]host:port/db"``;
    - ``namespace`` (default ``"sessionstore"``, 1 to :data:`MAX_NAMESPACE_BYTES` bytes): the prefix of
      every key, so that several stores share one server;
    - ``connect_timeout_ms``, ``command_timeout_ms`` (at least 1; default
      :data:`DEFAULT_CONNECT_TIMEOUT_MS`, :data:`DEFAULT_COMMAND_TIMEOUT_MS`): how long a call waits to
      connect and for a reply.

    The durability keys and the capacity bounds and quotas (``when_full`` too) raise
    :class:`InvalidArgument` with ``backend="redis"``; expiry (``idle_expiry_s``, ``max_age_s``,
    ``refresh_on_read``) works and is the namespace's (other settings than the namespace's raise
    :class:`InvalidArgument` while it holds sessions); ``url``, ``namespace`` and the timeouts raise it without. A server that cannot be
    used (unreachable, too slow, loading, out of memory, read-only) raises :class:`Unavailable`, from
    the open or any later call; the store reconnects by itself once the server is back.

    Any other keyword is passed on as a config key, so a key of a newer library can be used before this
    binding names it (an unknown key raises :class:`InvalidArgument`).

    Use it as a context manager, or call :meth:`close`. After ``close()`` every call raises
    :class:`Closed`. Calls release the GIL while the library works, so threads run in parallel.
    """

    __slots__ = ("_lib", "_hl", "_mode", "_calls", "_pending", "__weakref__")

    _lib: Lib
    _mode: str
    # The handle lives in a list of one (empty once closed), calls in flight in _calls, and a handle closed
    # while calls were in flight in _pending: list operations are atomic, so these need no lock (a lock
    # cost ~0.3 us per call). Whoever finds _pending non-empty with no call in flight pops and closes it;
    # the pop is atomic, so exactly one does.
    _hl: List[c_void_p]
    _calls: List[None]
    _pending: List[c_void_p]

    def __init__(
        self,
        mode: Mode = "agent",
        *,
        library: Optional[str] = None,
        max_session_bytes: Optional[int] = None,
        non_finite_numbers: Optional[NonFiniteNumbers] = None,
        path: Optional[Union[str, "os.PathLike[str]"]] = None,
        sync: Optional[SyncPolicy] = None,
        sync_interval_ms: Optional[int] = None,
        compact_factor: Optional[int] = None,
        compact_min_bytes: Optional[int] = None,
        feed_bytes: Optional[int] = None,
        idle_expiry_s: Optional[int] = None,
        max_age_s: Optional[int] = None,
        refresh_on_read: Optional[bool] = None,
        max_sessions: Optional[int] = None,
        max_bytes: Optional[int] = None,
        user_max_sessions: Optional[int] = None,
        user_max_bytes: Optional[int] = None,
        when_full: Optional[WhenFull] = None,
        backend: Optional[Backend] = None,
        url: Optional[str] = None,
        namespace: Optional[str] = None,
        connect_timeout_ms: Optional[int] = None,
        command_timeout_ms: Optional[int] = None,
        **config: object,
    ) -> None:
        self._hl = []
        fields: Dict[str, object] = {}
        m = _opt_str(mode, "mode")
        if m is not None:
            fields["mode"] = m
        nf = _opt_str(non_finite_numbers, "non_finite_numbers")
        if nf is not None:
            fields["non_finite_numbers"] = nf
        if path is not None:
            fields["path"] = _path(path)
        sy = _opt_str(sync, "sync")
        if sy is not None:
            fields["sync"] = sy
        wf = _opt_str(when_full, "when_full")
        if wf is not None:
            fields["when_full"] = wf
        for name, given in (("backend", backend), ("url", url), ("namespace", namespace)):
            sv = _opt_str(given, name)
            if sv is not None:
                fields[name] = sv
        named = (
            ("max_session_bytes", max_session_bytes),
            ("sync_interval_ms", sync_interval_ms),
            ("compact_factor", compact_factor),
            ("compact_min_bytes", compact_min_bytes),
            ("feed_bytes", feed_bytes),
            ("idle_expiry_s", idle_expiry_s),
            ("max_age_s", max_age_s),
            ("refresh_on_read", refresh_on_read),
            ("max_sessions", max_sessions),
            ("max_bytes", max_bytes),
            ("user_max_sessions", user_max_sessions),
            ("user_max_bytes", user_max_bytes),
            ("connect_timeout_ms", connect_timeout_ms),
            ("command_timeout_ms", command_timeout_ms),
        )
        config = dict(config, **{k: v for k, v in named if v is not None})
        for key, value in config.items():
            if value is None:
                continue
            if key in _INT_CONFIG:
                lo, hi = _INT_CONFIG[key]
                fields[key] = _int(value, key, lo, hi)
            elif key in _BOOL_CONFIG:
                if not isinstance(value, bool):
                    raise InvalidArgumentType(f"{key} must be a bool, got {_describe(value)}")
                fields[key] = value
            elif isinstance(value, (str, bool, float)) or value is None:
                fields[key] = value
            elif isinstance(value, int):
                fields[key] = int(value)
            else:
                fields[key] = value  # the library rejects unknown keys by name
        text = _dumps(fields, "config")
        lib = load_library(library)
        handle = c_void_p()
        err = c_void_p()
        st = lib.open(text, len(text), byref(handle), byref(err))
        if st != 0:
            raise _error(lib, st, err)
        self._init(lib, handle.value, m or "agent")

    def _init(self, lib: Lib, handle: Optional[int], mode: str) -> None:
        if not handle:
            raise Internal("sessionstore: the library returned a NULL store")
        self._lib = lib
        self._mode = mode
        self._calls = []
        self._pending = []
        self._hl = [c_void_p(handle)]

    @classmethod
    def open(
        cls,
        mode: Mode = "agent",
        *,
        library: Optional[str] = None,
        max_session_bytes: Optional[int] = None,
        non_finite_numbers: Optional[NonFiniteNumbers] = None,
        path: Optional[Union[str, "os.PathLike[str]"]] = None,
        sync: Optional[SyncPolicy] = None,
        sync_interval_ms: Optional[int] = None,
        compact_factor: Optional[int] = None,
        compact_min_bytes: Optional[int] = None,
        feed_bytes: Optional[int] = None,
        idle_expiry_s: Optional[int] = None,
        max_age_s: Optional[int] = None,
        refresh_on_read: Optional[bool] = None,
        max_sessions: Optional[int] = None,
        max_bytes: Optional[int] = None,
        user_max_sessions: Optional[int] = None,
        user_max_bytes: Optional[int] = None,
        when_full: Optional[WhenFull] = None,
        backend: Optional[Backend] = None,
        url: Optional[str] = None,
        namespace: Optional[str] = None,
        connect_timeout_ms: Optional[int] = None,
        command_timeout_ms: Optional[int] = None,
        **config: object,
    ) -> "Store":
        """Same as ``Store(mode, ...)``."""
        return cls(
            mode,
            library=library,
            max_session_bytes=max_session_bytes,
            non_finite_numbers=non_finite_numbers,
            path=path,
            sync=sync,
            sync_interval_ms=sync_interval_ms,
            compact_factor=compact_factor,
            compact_min_bytes=compact_min_bytes,
            feed_bytes=feed_bytes,
            idle_expiry_s=idle_expiry_s,
            max_age_s=max_age_s,
            refresh_on_read=refresh_on_read,
            max_sessions=max_sessions,
            max_bytes=max_bytes,
            user_max_sessions=user_max_sessions,
            user_max_bytes=user_max_bytes,
            when_full=when_full,
            backend=backend,
            url=url,
            namespace=namespace,
            connect_timeout_ms=connect_timeout_ms,
            command_timeout_ms=command_timeout_ms,
            **config,
        )

    # --- lifetime ---------------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """The session type of this handle."""
        return self._mode

    @property
    def closed(self) -> bool:
        return not self._hl

    @property
    def library_path(self) -> str:
        """The shared library this store was opened from."""
        return self._lib.path

    def _enter(self) -> c_void_p:
        # Taken right before each C call, after every argument was converted: code run by the conversion
        # (__index__, a datetime subclass...) that closed the store meets Closed here, never a freed handle.
        calls = self._calls
        calls.append(None)  # first counted, then the handle read: a close() in between sees the call
        try:
            return self._hl[0]
        except IndexError:
            self._leave()
            raise Closed("sessionstore: the store is closed", Status.CLOSED) from None

    def _leave(self) -> None:
        self._calls.pop()
        if self._pending and not self._calls:
            self._close_pending()

    def _close_pending(self) -> None:
        try:
            h = self._pending.pop()
        except IndexError:
            return
        self._lib.close(h)

    def _check(self) -> None:
        if not self._hl:
            raise Closed("sessionstore: the store is closed", Status.CLOSED)

    def close(self) -> None:
        """Closes this handle; idempotent. The data lives on in handles shared from it. A call running in
        another thread finishes first: the handle is released when the last running call returns.
        Closing the last handle on a durable store fsyncs its journal and releases the directory (a
        failure cannot be reported: call :meth:`sync` first to learn of one)."""
        try:
            h = self._hl.pop()
        except (IndexError, AttributeError):
            return
        if not self._calls:
            self._lib.close(h)
            return
        self._pending.append(h)
        if not self._calls:  # the last call left before it could see _pending
            self._close_pending()

    def __enter__(self) -> "Store":
        self._check()
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional["TracebackType"],
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # Safety net for stores that were never closed (no call can be running: nothing refers to self).
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __repr__(self) -> str:
        state = "closed" if not getattr(self, "_hl", None) else "open"
        return f"<sessionstore.Store mode={self._mode!r} {state}>"

    def share(self, mode: Optional[Mode] = None) -> "Store":
        """A second handle on the same data with its own mode (default: this one's). Close each handle."""
        self._check()
        m = _opt_id(mode, "mode")
        out = c_void_p()
        err = c_void_p()
        h = self._enter()
        try:
            st = self._lib.share(h, m, byref(out), byref(err))
        finally:
            self._leave()
        if st != 0:
            raise _error(self._lib, st, err)
        new = Store.__new__(Store)
        new._init(self._lib, out.value, m.decode() if m is not None else self._mode)
        return new

    # --- the calls --------------------------------------------------------------------------------------

    def _json_call(self, fn: Callable[..., int], *args: object) -> bytes:
        sc = _scratch()
        h = self._enter()
        try:
            st = fn(h, *args, sc[3], sc[4], sc[5])
        finally:
            self._leave()
        try:
            if st != 0:
                raise _error(self._lib, st, sc[2])
            return _take(self._lib, sc[0], sc[1])
        finally:
            _release(sc)

    def _void_call(self, fn: Callable[..., int], *args: object) -> None:
        sc = _scratch()
        h = self._enter()
        try:
            st = fn(h, *args, sc[5])
        finally:
            self._leave()
        try:
            if st != 0:
                raise _error(self._lib, st, sc[2])
        finally:
            _release(sc)

    def _count_call(self, fn: Callable[..., int], *args: object) -> int:
        sc = _scratch()
        h = self._enter()
        try:
            st = fn(h, *args, sc[4], sc[5])
        finally:
            self._leave()
        try:
            if st != 0:
                raise _error(self._lib, st, sc[2])
            return sc[1].value
        finally:
            _release(sc)

    # upsert

    @overload
    def upsert_raw(self, session: JsonInput) -> bytes: ...
    @overload
    def upsert_raw(self, session: JsonInput, *, return_stored: Literal[True]) -> bytes: ...
    @overload
    def upsert_raw(self, session: JsonInput, *, return_stored: Literal[False]) -> None: ...
    @overload
    def upsert_raw(self, session: JsonInput, *, return_stored: bool) -> Optional[bytes]: ...

    def upsert_raw(self, session: JsonInput, *, return_stored: bool = True) -> Optional[bytes]:
        """Stores a session given as JSON text; returns the stored JSON (``bytes``), or ``None`` with
        ``return_stored=False`` (the library then skips producing it)."""
        self._check()
        data = _payload(session, "session")
        if return_stored:
            return self._json_call(self._lib.upsert, data, c_size_t(len(data)))
        sc = _scratch()
        h = self._enter()
        try:
            st = self._lib.upsert(h, data, c_size_t(len(data)), None, None, sc[5])
        finally:
            self._leave()
        try:
            if st != 0:
                raise _error(self._lib, st, sc[2])
            return None
        finally:
            _release(sc)

    @overload
    def upsert(self, session: Mapping[str, Any]) -> Session: ...
    @overload
    def upsert(self, session: Mapping[str, Any], *, return_stored: Literal[True]) -> Session: ...
    @overload
    def upsert(self, session: Mapping[str, Any], *, return_stored: Literal[False]) -> None: ...
    @overload
    def upsert(self, session: Mapping[str, Any], *, return_stored: bool) -> Optional[Session]: ...

    def upsert(self, session: Mapping[str, Any], *, return_stored: bool = True) -> Optional[Session]:
        """Stores a session (a dict with ``session_id``), replacing any with the same id; returns the
        stored session (with ``session_type``, ``created_at``, ``updated_at`` and ``version``), or ``None``
        with ``return_stored=False``. A ``version`` in the input (a session read and sent again) must be
        ``None`` or a non-negative int and is replaced; to make the write depend on it, use :meth:`upsert_if`.

        A session belongs to its user: replacing a stored session whose ``user_id`` is set and differs
        from this one's (``None`` or absent included) raises :class:`PermissionDenied` and changes
        nothing. In a store with bounds the write may evict other sessions, or raise :class:`Full` (see
        :class:`Store`). ``float("nan")`` and infinities are stored as ``null`` by a store opened with
        ``non_finite_numbers="null"``, else refused (:class:`InvalidJson`)."""
        self._check()
        data = _dumps(_mapping(session, "session"), "session", allow_nan=True)
        raw = self.upsert_raw(data, return_stored=return_stored)
        return None if raw is None else _loads(raw)

    # compare-and-set and append

    @overload
    def upsert_if_raw(self, session: JsonInput, expected_version: int) -> bytes: ...
    @overload
    def upsert_if_raw(self, session: JsonInput, expected_version: int, *, return_stored: Literal[True]) -> bytes: ...
    @overload
    def upsert_if_raw(self, session: JsonInput, expected_version: int, *, return_stored: Literal[False]) -> None: ...
    @overload
    def upsert_if_raw(self, session: JsonInput, expected_version: int, *, return_stored: bool) -> Optional[bytes]: ...

    def upsert_if_raw(self, session: JsonInput, expected_version: int, *, return_stored: bool = True) -> Optional[bytes]:
        """:meth:`upsert_if` of a session given as JSON text; returns the stored JSON (``bytes``), or
        ``None`` with ``return_stored=False``."""
        self._check()
        data = _payload(session, "session")
        ev = _int(expected_version, "expected_version", 0, UINT64_MAX)
        if return_stored:
            return self._json_call(self._lib.upsert_if, data, c_size_t(len(data)), ev)
        self._void_call(self._lib.upsert_if, data, c_size_t(len(data)), ev, None, None)
        return None

    @overload
    def upsert_if(self, session: Mapping[str, Any], expected_version: int) -> Session: ...
    @overload
    def upsert_if(self, session: Mapping[str, Any], expected_version: int, *, return_stored: Literal[True]) -> Session: ...
    @overload
    def upsert_if(self, session: Mapping[str, Any], expected_version: int, *, return_stored: Literal[False]) -> None: ...
    @overload
    def upsert_if(self, session: Mapping[str, Any], expected_version: int, *, return_stored: bool) -> Optional[Session]: ...

    def upsert_if(
        self, session: Mapping[str, Any], expected_version: int, *, return_stored: bool = True
    ) -> Optional[Session]:
        """:meth:`upsert`, if the stored session's ``version`` is ``expected_version`` (a uint64; 0: the
        session must not exist yet). Otherwise raises :class:`VersionMismatch` and changes nothing: another
        writer came first, so read the session again, apply the change to what it holds, and retry. The
        check and the write are one atomic step; the type and owner are checked first (:class:`Conflict`,
        :class:`PermissionDenied`). To add runs to a transcript, :meth:`append_runs` needs no retry::

            while True:
                s = store.read("s1")
                s["memory"]["runs"].append(run)
                try:
                    store.upsert_if(s, s["version"])
                    break
                except VersionMismatch:
                    continue
        """
        self._check()
        data = _dumps(_mapping(session, "session"), "session", allow_nan=True)
        raw = self.upsert_if_raw(data, expected_version, return_stored=return_stored)
        return None if raw is None else _loads(raw)

    @overload
    def append_runs_raw(self, session_id: str, runs: JsonInput, user_id: Optional[str] = None) -> bytes: ...
    @overload
    def append_runs_raw(
        self, session_id: str, runs: JsonInput, user_id: Optional[str] = None, *, return_stored: Literal[True]
    ) -> bytes: ...
    @overload
    def append_runs_raw(
        self, session_id: str, runs: JsonInput, user_id: Optional[str] = None, *, return_stored: Literal[False]
    ) -> None: ...
    @overload
    def append_runs_raw(
        self, session_id: str, runs: JsonInput, user_id: Optional[str] = None, *, return_stored: bool
    ) -> Optional[bytes]: ...

    def append_runs_raw(
        self, session_id: str, runs: JsonInput, user_id: Optional[str] = None, *, return_stored: bool = True
    ) -> Optional[bytes]:
        """:meth:`append_runs` with the runs as a JSON array (text); returns the stored JSON (``bytes``),
        or ``None`` with ``return_stored=False``."""
        self._check()
        sid = _id(session_id, "session_id")
        data = _payload(runs, "runs")
        uid = _opt_id(user_id, "user_id")
        if return_stored:
            return self._json_call(self._lib.append_runs, sid, uid, data, c_size_t(len(data)))
        self._void_call(self._lib.append_runs, sid, uid, data, c_size_t(len(data)), None, None)
        return None

    @overload
    def append_runs(self, session_id: str, runs: Iterable[Any], user_id: Optional[str] = None) -> Session: ...
    @overload
    def append_runs(
        self, session_id: str, runs: Iterable[Any], user_id: Optional[str] = None, *, return_stored: Literal[True]
    ) -> Session: ...
    @overload
    def append_runs(
        self, session_id: str, runs: Iterable[Any], user_id: Optional[str] = None, *, return_stored: Literal[False]
    ) -> None: ...
    @overload
    def append_runs(
        self, session_id: str, runs: Iterable[Any], user_id: Optional[str] = None, *, return_stored: bool
    ) -> Optional[Session]: ...

    def append_runs(
        self, session_id: str, runs: Iterable[Any], user_id: Optional[str] = None, *, return_stored: bool = True
    ) -> Optional[Session]:
        """Appends runs (one or more JSON values; Agno's are dicts) to a session's transcript, in order, as
        one atomic step: to ``runs`` for a ``workflow_v2`` handle, else to ``memory["runs"]`` (Agno's
        layout; a missing or ``None`` ``memory`` or ``runs`` is created). ``updated_at`` and ``version``
        are set; every other byte of the session is kept. Returns the stored session, or ``None`` with
        ``return_stored=False`` (the library then skips producing it: an append then costs a pass over
        the session, not a copy of it).

        Concurrent appends to one session, from any number of threads and handles, all land, in some
        order; a read, an append to the list read and an :meth:`upsert` would lose what another writer
        stored in between. Which sessions are visible is as for :meth:`rename_session`: :class:`NotFound`
        when the session is absent, of another type or (``user_id`` given, not ``""``) another user's. An
        empty list raises :class:`InvalidArgument`; a stored ``memory``/``runs`` that is neither a list
        (or dict) nor ``None`` raises :class:`InvalidSession`. NaN and infinities follow the store's
        ``non_finite_numbers``, as in :meth:`upsert`."""
        self._check()
        sid = _id(session_id, "session_id")
        if isinstance(runs, (str, bytes, bytearray, memoryview, Mapping)):
            raise InvalidArgumentType(f"runs must be an iterable of runs (a list), got {_describe(runs)}")
        try:
            items = list(runs)
        except TypeError:
            raise InvalidArgumentType(f"runs must be an iterable of runs (a list), got {_describe(runs)}") from None
        raw = self.append_runs_raw(
            sid.decode("utf-8"), _dumps(items, "runs", allow_nan=True), user_id, return_stored=return_stored
        )
        return None if raw is None else _loads(raw)

    def upsert_many_raw(self, sessions: JsonInput) -> bytes:
        """Stores every session of a JSON array, or none (atomic); returns the stored array. An element
        that would take another user's session raises :class:`PermissionDenied` naming it
        (``"sessions[3]: ..."``), and nothing is stored."""
        self._check()
        data = _payload(sessions, "sessions")
        return self._json_call(self._lib.upsert_many, data, c_size_t(len(data)))

    def upsert_many(self, sessions: Iterable[Mapping[str, Any]]) -> List[Session]:
        """Stores every session, or none of them (atomic); returns the stored sessions in input order.
        Each is checked as :meth:`upsert` checks it, against the owner the earlier elements gave its id:
        :class:`PermissionDenied` (the message names the element, ``"sessions[3]: ..."``) stores nothing."""
        self._check()
        if isinstance(sessions, (str, bytes, bytearray, memoryview, Mapping)):
            raise InvalidArgumentType(f"sessions must be an iterable of dicts, got {_describe(sessions)}")
        try:
            items = list(sessions)
        except TypeError:
            raise InvalidArgumentType(f"sessions must be an iterable of dicts, got {_describe(sessions)}") from None
        for i, s in enumerate(items):
            _mapping(s, f"sessions[{i}]")
        return _loads(self.upsert_many_raw(_dumps(items, "sessions", allow_nan=True)))  # type: ignore[no-any-return]

    # read

    def read_raw(self, session_id: str, user_id: Optional[str] = None) -> Optional[bytes]:
        """The stored JSON of a session, or ``None`` when absent (or expired), of another type or another
        user's. In a store opened with ``refresh_on_read``, the read refreshes the session's idle time."""
        self._check()
        sid = _id(session_id, "session_id")
        uid = _opt_id(user_id, "user_id")
        lib = self._lib
        sc = _scratch()
        rb = sc[6]
        if not rb:
            _grow(rb, _READ_BUFFER)
        h = self._enter()
        try:
            st = lib.read_into(h, sid, uid, rb[0], rb[1], sc[4], sc[5])
        finally:
            self._leave()
        try:
            if st == 0:
                n = sc[1].value
                if n <= rb[2]:
                    return rb[0][:n]  # type: ignore[no-any-return]
                return self._read_larger(sid, uid, n, sc)
            if st == Status.NOT_FOUND:
                _drop_error(lib, sc[2])
                return None
            raise _error(lib, st, sc[2])
        finally:
            _release(sc)

    def _read_larger(self, sid: bytes, uid: Optional[bytes], n: int, sc: Scratch) -> Optional[bytes]:
        # A session above the thread's buffer: read again into a larger one (kept for the next read) up
        # to _READ_BUFFER_MAX; above that, or when it grew again in between, ss_read allocates it.
        lib = self._lib
        rb = sc[6]
        if n <= _READ_BUFFER_MAX:
            _grow(rb, 1 << (n - 1).bit_length())
            h = self._enter()
            try:
                st = lib.read_into(h, sid, uid, rb[0], rb[1], sc[4], sc[5])
            finally:
                self._leave()
            if st == 0 and sc[1].value <= rb[2]:
                return rb[0][: sc[1].value]  # type: ignore[no-any-return]
            if st == Status.NOT_FOUND:
                _drop_error(lib, sc[2])
                return None
            if st != 0:
                raise _error(lib, st, sc[2])
        h = self._enter()
        try:
            st = lib.read(h, sid, uid, sc[3], sc[4], sc[5])
        finally:
            self._leave()
        if st == 0:
            return _take(lib, sc[0], sc[1])
        if st == Status.NOT_FOUND:
            _drop_error(lib, sc[2])
            return None
        raise _error(lib, st, sc[2])

    def read_into(self, buffer: "WriteableBuffer", session_id: str, user_id: Optional[str] = None) -> Optional[int]:
        """Copies the stored JSON of a session (as :meth:`read_raw` finds it) to the start of ``buffer`` and
        returns its length, or returns ``None`` where :meth:`read_raw` does. A length above the buffer's
        size means nothing was copied (the buffer is untouched): call again with a buffer that large (the
        session may change in between) or use :meth:`read_raw`. An empty buffer asks for the length.

        ``buffer`` is a writable, C-contiguous bytes-like object of single bytes: a ``bytearray``, a
        writable ``memoryview`` (a slice of one writes there), an ``array.array("B")``, an ``mmap``...;
        ``bytes`` and other read-only buffers raise :class:`InvalidArgumentType`, a non-contiguous or
        non-byte view :class:`InvalidArgument`. The buffer is held for the call (a ``bytearray`` cannot be
        resized meanwhile) and released before it returns. One buffer kept for many reads makes a read
        that allocates nothing for the JSON."""
        self._check()
        sid = _id(session_id, "session_id")
        uid = _opt_id(user_id, "user_id")
        # Last: nothing is held when an id is refused.
        ptr, cap, mv = _writable(buffer, "buffer")
        try:
            sc = _scratch()
            h = self._enter()
            try:
                st = self._lib.read_into(h, sid, uid, ptr, c_size_t(cap), sc[4], sc[5])
            finally:
                self._leave()
        finally:
            del ptr  # the last reference to the export: the buffer can be resized again
            if mv is not None:
                mv.release()
        try:
            if st == 0:
                return sc[1].value
            if st == Status.NOT_FOUND:
                _drop_error(self._lib, sc[2])
                return None
            raise _error(self._lib, st, sc[2])
        finally:
            _release(sc)

    def read(self, session_id: str, user_id: Optional[str] = None) -> Optional[Session]:
        """The session as a new dict (a copy: changing it changes nothing stored), or ``None`` when absent
        (an expired session is absent), of another type, or (``user_id`` given, not empty) another user's.
        In a store opened with ``refresh_on_read``, the read refreshes the session's idle time."""
        raw = self.read_raw(session_id, user_id)
        return None if raw is None else _loads(raw)

    def exists(self, session_id: str, user_id: Optional[str] = None) -> bool:
        """Whether :meth:`read` would find the session (no copy is made; with ``refresh_on_read`` it
        refreshes the idle time as a read does)."""
        self._check()
        sid = _id(session_id, "session_id")
        uid = _opt_id(user_id, "user_id")
        sc = _scratch()
        h = self._enter()
        try:
            st = self._lib.read(h, sid, uid, None, None, sc[5])
        finally:
            self._leave()
        try:
            if st == 0:
                return True
            if st == Status.NOT_FOUND:
                _drop_error(self._lib, sc[2])
                return False
            raise _error(self._lib, st, sc[2])
        finally:
            _release(sc)

    # listings

    def get_all_session_ids_raw(self, user_id: Optional[str] = None, entity_id: Optional[str] = None) -> bytes:
        self._check()
        u, e = _opt_id(user_id, "user_id"), _opt_id(entity_id, "entity_id")
        return self._json_call(self._lib.all_ids, u, e)

    def get_all_session_ids(self, user_id: Optional[str] = None, entity_id: Optional[str] = None) -> List[str]:
        """Ids of this handle's sessions in first-insertion order, filtered by user and by the mode's
        entity field (agent_id, team_id or workflow_id); ``None`` or ``""`` matches everything."""
        return _loads(self.get_all_session_ids_raw(user_id, entity_id))  # type: ignore[no-any-return]

    def get_all_sessions_raw(self, user_id: Optional[str] = None, entity_id: Optional[str] = None) -> bytes:
        self._check()
        u, e = _opt_id(user_id, "user_id"), _opt_id(entity_id, "entity_id")
        return self._json_call(self._lib.all, u, e)

    def get_all_sessions(self, user_id: Optional[str] = None, entity_id: Optional[str] = None) -> List[Session]:
        """As :meth:`get_all_session_ids`, the sessions themselves."""
        return _loads(self.get_all_sessions_raw(user_id, entity_id))  # type: ignore[no-any-return]

    def get_recent_sessions_raw(
        self, user_id: Optional[str] = None, entity_id: Optional[str] = None, limit: Optional[int] = 2
    ) -> bytes:
        self._check()
        u, e = _opt_id(user_id, "user_id"), _opt_id(entity_id, "entity_id")
        n = -1 if limit is None else _int(limit, "limit", INT64_MIN, INT64_MAX)
        return self._json_call(self._lib.recent, u, e, c_int64(n))

    def get_recent_sessions(
        self, user_id: Optional[str] = None, entity_id: Optional[str] = None, limit: Optional[int] = 2
    ) -> List[Session]:
        """At most ``limit`` sessions (default 2, like Agno; ``None`` or negative: all), newest
        ``created_at`` first, same-second ties most recently inserted first. ``limit`` is an int64."""
        return _loads(self.get_recent_sessions_raw(user_id, entity_id, limit))  # type: ignore[no-any-return]

    def query_raw(self, query: Optional[JsonInput] = None) -> bytes:
        """``ss_query`` with the library's JSON query as is; returns ``{"sessions":[...],"total":N}``."""
        self._check()
        data = b"{}" if query is None else _payload(query, "query")
        return self._json_call(self._lib.query, data, c_size_t(len(data)))

    def query(
        self,
        *,
        session_type: Optional[SessionTypes] = None,
        user_id: Optional[str] = None,
        entity_id: Optional[str] = None,
        session_name: Optional[str] = None,
        created_after: Optional[Timestamp] = None,
        created_before: Optional[Timestamp] = None,
        updated_after: Optional[Timestamp] = None,
        updated_before: Optional[Timestamp] = None,
        sort_by: Optional[str] = None,
        sort_order: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        fields: Optional[Fields] = None,
    ) -> QueryResult:
        """Filters, sorts and pages sessions; ``total`` counts every match before paging.

        - ``session_type``: this handle's mode (default), another type, ``"any"``, or a non-empty list
          of types (``["agent", "team"]``): one query across types, sorted and paged as one list.
        - ``user_id``, ``entity_id`` (matched against the entity field of each session's type): ``None``
          or ``""`` is no filter.
        - ``session_name``: a substring of ``session_data.session_name`` after full Unicode case folding
          of both (``str.casefold``: ``"ΟΔΟΣ"`` finds ``"οδος"``, ``"ss"`` finds ``"ß"``); unnamed sessions
          never match.
        - ``created_after``/``created_before``/``updated_after``/``updated_before``: inclusive unix
          seconds (int64) or datetimes.
        - ``sort_by``: ``"created_at"`` (default), ``"updated_at"`` or ``"session_id"``; ``sort_order``:
          ``"desc"`` (default) or ``"asc"``; ties go by first insertion. ``limit``, ``offset``: uint64.
        - ``fields``: ``"all"`` (default: whole sessions); ``"metadata"`` for list views: ``session_id``,
          ``session_type``, ``user_id``, the type's entity field, ``created_at``, ``updated_at`` and, when
          named, ``session_data: {"session_name": ...}``, built without reading the session, so the cost
          does not grow with the transcript; or a list of at most 64 top-level field names (absent ones
          are left out of each session)."""
        self._check()
        q: Dict[str, object] = {}
        if session_type is not None:
            q["session_type"] = _name_or_names(session_type, "session_type")
        if fields is not None:
            q["fields"] = _name_or_names(fields, "fields")
        for key, value in (("user_id", user_id), ("entity_id", entity_id), ("session_name", session_name),
                           ("sort_by", sort_by), ("sort_order", sort_order)):
            s = _opt_str(value, key)
            if s is not None:
                q[key] = s
        times: Tuple[Tuple[str, Optional[Timestamp]], ...] = (
            ("created_after", created_after), ("created_before", created_before),
            ("updated_after", updated_after), ("updated_before", updated_before),
        )
        for key, t in times:
            if t is not None:
                q[key] = _timestamp(t, key)
        counts: Tuple[Tuple[str, Optional[int]], ...] = (("limit", limit), ("offset", offset))
        for key, c in counts:
            if c is not None:
                q[key] = _int(c, key, 0, UINT64_MAX)
        return _loads(self.query_raw(_dumps(q, "query")))  # type: ignore[no-any-return]

    # rename, delete, drop

    def rename_session_raw(self, session_id: str, session_name: str, user_id: Optional[str] = None) -> bytes:
        self._check()
        sid, name = _id(session_id, "session_id"), _id(session_name, "session_name")
        uid = _opt_id(user_id, "user_id")
        return self._json_call(self._lib.rename, sid, name, uid)

    def rename_session(self, session_id: str, session_name: str, user_id: Optional[str] = None) -> Session:
        """Sets ``session_data.session_name`` (and ``updated_at``); returns the stored session. With
        ``user_id`` (not ``None`` or ``""``), only that user's session is renamed, atomically. Raises
        :class:`NotFound` when the session is absent, of another type, or another user's."""
        return _loads(self.rename_session_raw(session_id, session_name, user_id))  # type: ignore[no-any-return]

    def rename_session_if_raw(
        self, session_id: str, session_name: str, expected_version: int, user_id: Optional[str] = None
    ) -> bytes:
        self._check()
        sid, name = _id(session_id, "session_id"), _id(session_name, "session_name")
        ev = _int(expected_version, "expected_version", 0, UINT64_MAX)
        uid = _opt_id(user_id, "user_id")
        return self._json_call(self._lib.rename_if, sid, name, uid, ev)

    def rename_session_if(
        self, session_id: str, session_name: str, expected_version: int, user_id: Optional[str] = None
    ) -> Session:
        """:meth:`rename_session`, if the session's ``version`` is ``expected_version`` (uint64); otherwise
        raises :class:`VersionMismatch` and changes nothing. A session not visible to the call (absent,
        another type, another user's) has version 0, so an expected version of 0 raises :class:`NotFound`."""
        raw = self.rename_session_if_raw(session_id, session_name, expected_version, user_id)
        return _loads(raw)  # type: ignore[no-any-return]

    def delete_session_if(self, session_id: str, expected_version: int, user_id: Optional[str] = None) -> int:
        """:meth:`delete_session`, if the session's ``version`` is ``expected_version`` (uint64; 0: the
        session must not exist, and nothing is removed); otherwise raises :class:`VersionMismatch` and
        changes nothing. Returns how many were removed (0 or 1)."""
        self._check()
        sid = _id(session_id, "session_id")
        ev = _int(expected_version, "expected_version", 0, UINT64_MAX)
        uid = _opt_id(user_id, "user_id")
        return self._count_call(self._lib.delete_if, sid, uid, ev)

    def delete_session(self, session_id: str, user_id: Optional[str] = None) -> int:
        """Deletes a session of this handle's type and, with ``user_id`` (not ``None`` or ``""``), of that
        user, atomically; returns how many were removed (0 or 1: another user's session is not an error)."""
        self._check()
        sid = _id(session_id, "session_id")
        uid = _opt_id(user_id, "user_id")
        return self._count_call(self._lib.delete, sid, uid)

    def delete_sessions_raw(self, session_ids: JsonInput, user_id: Optional[str] = None) -> int:
        self._check()
        data = _payload(session_ids, "session_ids")
        uid = _opt_id(user_id, "user_id")
        return self._count_call(self._lib.delete_many, data, c_size_t(len(data)), uid)

    def delete_sessions(self, session_ids: Iterable[str], user_id: Optional[str] = None) -> int:
        """Deletes the sessions with these ids that have this handle's type and, with ``user_id`` (not
        ``None`` or ``""``), belong to that user (atomic); returns how many were removed."""
        self._check()
        if isinstance(session_ids, (str, bytes, bytearray, memoryview)):
            raise InvalidArgumentType(f"session_ids must be an iterable of str, got {_describe(session_ids)}")
        try:
            ids = [_id(s, "session_ids[]").decode("utf-8") for s in session_ids]
        except TypeError:
            raise InvalidArgumentType(f"session_ids must be an iterable of str, got {_describe(session_ids)}") from None
        return self.delete_sessions_raw(_dumps(ids, "session_ids"), user_id)

    def drop(self) -> int:
        """Removes every session of this handle's type; returns how many."""
        self._check()
        return self._count_call(self._lib.drop)

    # durability

    def sync(self) -> None:
        """Forces a durable store's journal to stable storage now, whatever its ``sync`` policy: when it
        returns, every mutation acknowledged before the call survives a power loss. A no-op for a store in
        memory. Raises :class:`IOFailure` (the fsync failed: the store is poisoned from then on) or
        :class:`Poisoned` (an earlier one did)."""
        self._check()
        sc = _scratch()
        h = self._enter()
        try:
            st = self._lib.sync(h, sc[5])
        finally:
            self._leave()
        try:
            if st != 0:
                raise _error(self._lib, st, sc[2])
        finally:
            _release(sc)

    # stats, export, import

    def stats_raw(self) -> bytes:
        self._check()
        return self._json_call(self._lib.stats)

    def stats(self) -> Stats:
        """Counts over every type (sessions expired but not yet reclaimed included), the change feed
        (:class:`FeedStats`), the bounds (:class:`BoundsStats`), and ``durability``: ``None`` in memory,
        else a :class:`DurabilityStats`."""
        return _loads(self.stats_raw())  # type: ignore[no-any-return]

    def export_raw(self) -> bytes:
        """Every session of every type as ``{session_id: session}`` JSON (Agno's ``storage_dict``)."""
        self._check()
        return self._json_call(self._lib.export)

    def export(self) -> Dict[str, Session]:
        """Every session of every type as ``{session_id: session}``: Agno's ``storage_dict`` shape."""
        return _loads(self.export_raw())  # type: ignore[no-any-return]

    def export_with_seq_raw(self) -> Tuple[bytes, int]:
        """:meth:`export_with_seq` as JSON bytes and the sequence number."""
        self._check()
        seq = c_uint64()
        sc = _scratch()
        h = self._enter()
        try:
            st = self._lib.export_with_seq(h, sc[3], sc[4], byref(seq), sc[5])
        finally:
            self._leave()
        try:
            if st != 0:
                raise _error(self._lib, st, sc[2])
            return _take(self._lib, sc[0], sc[1]), seq.value
        finally:
            _release(sc)

    def export_with_seq(self) -> Tuple[Dict[str, Session], int]:
        """:meth:`export`, and the number of the last change the export holds (one consistent state, the
        one after that change): follow the store from there with :meth:`changes` (``after`` = that
        number); nothing is missed and nothing is seen twice."""
        raw, seq = self.export_with_seq_raw()
        return _loads(raw), seq

    # the change feed

    def changes_raw(self, after: int, limit: int = MAX_CHANGES, *, ids_only: bool = False) -> bytes:
        """:meth:`changes` as JSON bytes (``{"changes":[...],"next":N,"latest":L,"store":"<32 hex>"}``)."""
        self._check()
        a = _int(after, "after", 0, UINT64_MAX)
        n = _int(limit, "limit", 1, SIZE_MAX)
        if not isinstance(ids_only, bool):
            raise InvalidArgumentType(f"ids_only must be a bool, got {_describe(ids_only)}")
        options = b'{"ids_only":true}' if ids_only else None
        return self._json_call(self._lib.changes, a, n, options, 0 if options is None else len(options))

    def changes(self, after: int, limit: int = MAX_CHANGES, *, ids_only: bool = False) -> ChangesResult:
        """The store's changes numbered above ``after`` (uint64), oldest first, at most ``limit`` (at least
        1; at most :data:`MAX_CHANGES` whatever the limit), of every type whatever this handle's mode:
        ``{"changes": [...], "next": N, "latest": L, "store": S}``. Each change is a :data:`Change`:
        ``{"seq", "op": "upsert", "session_type", "session_id", "version", "session"}``, ``{"seq", "op": "delete",
        "session_type", "session_id"}`` (also ``"op": "expire"`` and ``"op": "evict"``, same shape: the store's
        bounds removed the session) or ``{"seq", "op": "drop", "session_type"}`` (every session of that
        type removed). A bulk write (``upsert_many``, ``import_``, ``delete_sessions``) is one change per
        session. ``ids_only=True`` leaves ``session`` out. Pass ``next`` as ``after`` next time.

        Every change to a store is numbered, one above the last, from 1; a session's ``version`` is the
        number of the change that last stored it. The feed keeps the latest changes up to the store's
        ``feed_bytes``: a follower that fell further behind, or that asks with a number from another life
        of the store (above ``latest``: an in-memory store made anew), gets :class:`FeedTruncated` and
        must start again from :meth:`export_with_seq`. ``store`` is the store's identity (32 hexadecimal
        digits; also ``stats()["feed"]["store"]``): numbers are a store's own, and start again from 1 in a
        store made anew, which has another identity, so a follower keeps the identity with its number and
        starts again from :meth:`export_with_seq` when it differs (a durable store keeps its identity
        across reopens). To mirror a store::

            sessions, seq = store.export_with_seq()
            identity = store.stats()["feed"]["store"]
            while True:
                page = store.changes(seq)
                if page["store"] != identity:
                    ...  # another store: start again from export_with_seq()
                for c in page["changes"]:
                    ...  # apply c: upsert; delete, expire or evict (remove it); drop
                seq = page["next"]  # remember it with identity
        """
        return _loads(self.changes_raw(after, limit, ids_only=ids_only))  # type: ignore[no-any-return]

    def import_raw(self, data: JsonInput) -> int:
        self._check()
        payload = _payload(data, "data")
        return self._count_call(self._lib.import_, payload, c_size_t(len(payload)))

    def import_(self, data: Mapping[str, Mapping[str, Any]]) -> int:
        """Merges ``{session_id: session}`` (an export, or Agno's ``storage_dict``) into the store,
        atomically; returns the number of records. (``import`` is a Python keyword, hence the ``_``.)
        An administrative load: it replaces stored sessions whatever their ``user_id``. Timestamps are
        kept as given, so in a store with ``idle_expiry_s`` or ``max_age_s`` a record already past its
        expiry is imported and counted but not visible (gone at once, reclaimed soon after). Raises
        :class:`Full` when the store's bounds cannot hold the import even after evicting every other
        session."""
        self._check()
        return self.import_raw(_dumps(_mapping(data, "data"), "data", allow_nan=True))


# --- results --------------------------------------------------------------------------------------------


def _name_or_names(value: object, what: str) -> Union[str, List[str]]:
    """A str, or a sequence (list, tuple...) of str (the library checks the names)."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, _abc.Sequence) and not isinstance(value, (bytes, bytearray, memoryview)):
        names: List[str] = []
        for v in value:
            if not isinstance(v, str):
                raise InvalidArgumentType(f"{what} must be a str or a list of str, got an item {_describe(v)}")
            names.append(str.__str__(v))
        return names
    raise InvalidArgumentType(f"{what} must be a str or a list of str, got {_describe(value)}")


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidArgumentType(f"{what} must be a dict (a Mapping), got {_describe(value)}")
    return value


# Out-parameters: each thread keeps a few blocks (out_json, out_len / count, out_error and their byref(),
# and read_raw's buffer), about 0.8 us cheaper per call than new ctypes objects. A block is taken off the
# thread's list for a call and put back after, so code that runs in between (a finalizer calling the
# store) gets another block. Every pointer read from a block is cleared at once, so a block never holds a
# pointer already freed.
_tls = threading.local()
Scratch = Tuple[c_void_p, c_size_t, c_void_p, Any, Any, Any, List[Any]]

# read_raw reads through ss_read_into into its block's buffer ([array, capacity as c_size_t, capacity],
# made on first use): no allocation and no ss_string_free call. Larger sessions grow it to this bound;
# above it ss_read allocates, so a thread never keeps more than this for reads.
_READ_BUFFER = 64 * 1024
_READ_BUFFER_MAX = 1024 * 1024


def _scratch() -> Scratch:
    try:
        return _tls.free.pop()  # type: ignore[no-any-return]
    except AttributeError:
        _tls.free = []
    except IndexError:
        pass
    out, n, err = c_void_p(), c_size_t(), c_void_p()
    return (out, n, err, byref(out), byref(n), byref(err), [])


def _grow(rb: List[Any], size: int) -> None:
    rb[:] = [(c_char * size)(), c_size_t(size), size]


# Formats of a buffer of single bytes (ctypes writes "<c" and "<B").
_BYTE_FORMATS = frozenset(p + f for p in ("", "@", "=", "<", ">", "!") for f in "Bbc")


def _writable(value: object, what: str) -> Tuple[Any, int, Optional[memoryview]]:
    """The pointer to pass for a writable, C-contiguous buffer of bytes (``byref`` of a ctypes object that
    holds an export of it, so that a ``bytearray`` cannot be resized or freed while the library writes;
    ``None`` when empty), its size, and the memoryview to release after the call. Pointer and size come
    from one export: a second export of ``value`` could be another buffer."""
    if type(value) is bytearray:
        # Exactly bytearray (not a subclass): writable and contiguous; its length is read once the export
        # is held, when it can no longer change.
        try:
            ptr = byref(c_char.from_buffer(value))
        except ValueError:  # empty (from_buffer needs one byte): a length query
            return None, 0, None
        return ptr, len(value), None
    try:
        mv = memoryview(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidArgumentType(
            f"{what} must be a writable bytes-like object (a bytearray, a memoryview...), got {_describe(value)}"
        ) from None
    except (ValueError, BufferError) as e:  # a released memoryview, an exporter that refuses
        raise InvalidArgument(f"{what} cannot be written: {e}") from None
    try:
        if mv.readonly:
            raise InvalidArgumentType(
                f"{what} must be writable, got a read-only {_describe(value)} (a bytearray or a writable memoryview)"
            )
        if mv.itemsize != 1 or mv.format not in _BYTE_FORMATS:
            raise InvalidArgument(
                f"{what} must be a buffer of bytes, got items of format {mv.format!r} ({mv.itemsize} bytes)"
            )
        if not mv.c_contiguous:
            raise InvalidArgument(f"{what} must be C-contiguous (a memoryview with a step is not)")
        cap = mv.nbytes
        return (byref(c_char.from_buffer(mv)) if cap else None), cap, mv
    except BaseException:
        mv.release()
        raise


def _release(sc: Scratch) -> None:
    free: List[Scratch] = _tls.free
    if len(free) < 4:
        free.append(sc)


def _take(lib: Lib, out: c_void_p, n: c_size_t) -> bytes:
    p = out.value
    out.value = None
    if not p:
        raise Internal("sessionstore: the library returned no JSON")
    try:
        return string_at(p, n.value)
    finally:
        lib.free(p)


def _drop_error(lib: Lib, err: c_void_p) -> None:
    p = err.value
    if p:
        err.value = None
        lib.free(p)


def _error(lib: Lib, status: int, err: c_void_p) -> SessionStoreError:
    p = err.value
    if p:
        err.value = None
        try:
            message = string_at(p).decode("utf-8", "replace")
        finally:
            lib.free(p)
    else:
        message = lib.status_str(status)
    return make_error(status, message)


def version(library: Optional[str] = None) -> str:
    """The library's version (``ss_version()``), e.g. ``"0.4.0"``."""
    return load_library(library).lib_version
