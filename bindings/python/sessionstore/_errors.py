"""Statuses and exceptions: one table, checked against the library's ss_status_str() at load."""

from __future__ import annotations

import enum
from typing import Callable, Dict, Optional, Tuple, Type


class Status(enum.IntEnum):
    """The C library's ``ss_status`` values (include/sessionstore.h), plus ``CLOSED``.

    ``CLOSED`` is ``SS_BINDING_STATUS_CLOSED`` (65536): never returned by the C library, reported by
    every binding (C++, Go, Node, Python) for a call on a handle it has already closed.
    """

    OK = 0
    NOT_FOUND = 1
    INVALID_ARGUMENT = 2
    INVALID_JSON = 3
    INVALID_SESSION = 4
    CONFLICT = 5
    TOO_LARGE = 6
    INTERNAL = 7
    PERMISSION_DENIED = 8
    IO = 9
    LOCKED = 10
    CORRUPT = 11
    POISONED = 12
    VERSION_MISMATCH = 13
    FEED_TRUNCATED = 14
    FULL = 15
    UNAVAILABLE = 16
    CLOSED = 65536


class SessionStoreError(Exception):
    """Every failure of this package. ``status`` is the number (a :class:`Status` when known),
    ``code`` its name (``"NOT_FOUND"``...), ``message`` the library's message."""

    status: int = Status.INTERNAL
    code: str = "INTERNAL"

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
            try:
                self.code = Status(status).name
            except ValueError:
                self.code = "INTERNAL"


class NotFound(SessionStoreError, LookupError):
    """No such session for this handle. ``read()`` returns ``None`` instead; ``rename_session()`` raises."""

    status = Status.NOT_FOUND
    code = "NOT_FOUND"


class InvalidArgument(SessionStoreError, ValueError):
    """A bad option, mode, query key or value, an integer out of its C type's range, an id with NUL."""

    status = Status.INVALID_ARGUMENT
    code = "INVALID_ARGUMENT"


class InvalidArgumentType(InvalidArgument, TypeError):
    """An argument of the wrong Python type (also a ``TypeError``)."""


class InvalidJson(SessionStoreError, ValueError):
    """Not acceptable JSON (syntax, UTF-8, depth, duplicate keys), an object json cannot encode, or NaN or
    an infinity in a session of a store opened with ``non_finite_numbers="reject"`` (the default)."""

    status = Status.INVALID_JSON
    code = "INVALID_JSON"


class InvalidSession(SessionStoreError, ValueError):
    """Well-formed JSON that breaks the session schema (no ``session_id``, wrong field types...)."""

    status = Status.INVALID_SESSION
    code = "INVALID_SESSION"


class Conflict(SessionStoreError):
    """The id is stored with another session type; nothing was changed."""

    status = Status.CONFLICT
    code = "CONFLICT"


class TooLarge(SessionStoreError):
    """A session above the store's ``max_session_bytes``."""

    status = Status.TOO_LARGE
    code = "TOO_LARGE"


class Internal(SessionStoreError):
    """A bug caught in the library; also: the library cannot be found or loaded."""

    status = Status.INTERNAL
    code = "INTERNAL"


class PermissionDenied(SessionStoreError):
    """The session belongs to another user: an upsert (or an element of a batch, which the message names,
    ``"sessions[3]: ..."``) would replace a stored session whose ``user_id`` is set and differs from the
    input's (``None`` or absent included). Nothing was changed. ``import_()`` is not bound by this rule."""

    status = Status.PERMISSION_DENIED
    code = "PERMISSION_DENIED"


class IOFailure(SessionStoreError):
    """A durable store's disk I/O failed (status ``IO``): a full disk, a failed write or fsync, or, opening
    it, a directory that cannot be created, read or locked. A mutation that fails with it was not applied,
    except when its fsync failed: then the store is poisoned (see :class:`Poisoned`)."""

    status = Status.IO
    code = "IO"


class Locked(SessionStoreError):
    """The directory of a durable store (``path=``) is in use by another open store, in this process or
    another, until the last handle on that store is closed. Use :meth:`Store.share` for more handles."""

    status = Status.LOCKED
    code = "LOCKED"


class Corrupt(SessionStoreError):
    """A durable store's files are damaged (anything but a torn last append, which is cut off) or are not
    a store's files; the message names the file and the byte offset. Nothing was loaded."""

    status = Status.CORRUPT
    code = "CORRUPT"


class Poisoned(SessionStoreError):
    """An earlier fsync of this durable store failed, so the kernel may have dropped data it had
    acknowledged: every write is refused, reads go on. Reopen the store to reload what is on disk."""

    status = Status.POISONED
    code = "POISONED"


class VersionMismatch(SessionStoreError):
    """A conditional write (:meth:`Store.upsert_if`, :meth:`Store.rename_session_if`,
    :meth:`Store.delete_session_if`) expected another version of the session than the one stored (0
    standing for "no such session"): another writer came first. Nothing was changed; read the session
    again, apply the change to what it holds, and retry."""

    status = Status.VERSION_MISMATCH
    code = "VERSION_MISMATCH"


class FeedTruncated(SessionStoreError):
    """:meth:`Store.changes` was asked for the changes after a number the feed no longer holds (it keeps
    the latest changes up to the store's ``feed_bytes``), or after a number this store never reached (an
    in-memory store made anew). Start again from :meth:`Store.export_with_seq`, then follow the feed from
    the number it returns."""

    status = Status.FEED_TRUNCATED
    code = "FEED_TRUNCATED"


class Full(SessionStoreError):
    """A write would take the store past a bound of its config (``max_sessions``, ``max_bytes``) or a user
    past a quota (``user_max_sessions``, ``user_max_bytes``) of a store opened with
    ``when_full="refuse"``, or the write alone cannot fit under the bound (under either policy: a session
    larger than ``max_bytes``, a batch of more sessions than ``max_sessions``...). Nothing was changed;
    the message names the bound. Raised by the writes: :meth:`Store.upsert` and its variants,
    :meth:`Store.upsert_many`, :meth:`Store.rename_session`, :meth:`Store.append_runs` and
    :meth:`Store.import_`."""

    status = Status.FULL
    code = "FULL"


class Unavailable(SessionStoreError):
    """A Redis store's server (``backend="redis"``) cannot be used: it is unreachable, did not answer
    within ``command_timeout_ms``, is loading or restarting, is out of memory (maxmemory) or is a
    read-only replica; opening a store, also a server older than Redis 7. Nothing was changed, unless the
    message says the reply was lost (a timeout or a dropped connection after the command was sent): then
    the change may have been applied, and a conditional write (:meth:`Store.upsert_if`) is the way to
    retry safely. The store reconnects by itself on a later call once the server is back. Any call on a
    Redis store may raise it."""

    status = Status.UNAVAILABLE
    code = "UNAVAILABLE"


class Closed(SessionStoreError, ValueError):
    """A call on a closed store (status ``SS_BINDING_STATUS_CLOSED``, 65536, as in every binding)."""

    status = Status.CLOSED
    code = "CLOSED"


# The one table of statuses: number (Status), ss_status_str() text, exception class, binding-only.
STATUS_TABLE: Tuple[Tuple[Status, str, Optional[Type[SessionStoreError]], bool], ...] = (
    (Status.OK, "ok", None, False),
    (Status.NOT_FOUND, "not found", NotFound, False),
    (Status.INVALID_ARGUMENT, "invalid argument", InvalidArgument, False),
    (Status.INVALID_JSON, "invalid JSON", InvalidJson, False),
    (Status.INVALID_SESSION, "invalid session", InvalidSession, False),
    (Status.CONFLICT, "conflict", Conflict, False),
    (Status.TOO_LARGE, "too large", TooLarge, False),
    (Status.INTERNAL, "internal error", Internal, False),
    (Status.PERMISSION_DENIED, "permission denied", PermissionDenied, False),
    (Status.IO, "I/O error", IOFailure, False),
    (Status.LOCKED, "locked", Locked, False),
    (Status.CORRUPT, "corrupt", Corrupt, False),
    (Status.POISONED, "poisoned", Poisoned, False),
    (Status.VERSION_MISMATCH, "version mismatch", VersionMismatch, False),
    (Status.FEED_TRUNCATED, "feed truncated", FeedTruncated, False),
    (Status.FULL, "full", Full, False),
    (Status.UNAVAILABLE, "unavailable", Unavailable, False),
    (Status.CLOSED, "closed", Closed, True),
)

if sorted(e[0] for e in STATUS_TABLE) != sorted(Status):  # pragma: no cover - a bug in this file
    raise AssertionError("STATUS_TABLE must list every Status exactly once")

_ERROR_CLASS: Dict[int, Type[SessionStoreError]] = {e[0]: e[2] for e in STATUS_TABLE if e[2] is not None}

UNKNOWN_STATUS_TEXT = "unknown status"


def make_error(status: int, message: str) -> SessionStoreError:
    """The exception for a status; a number this binding does not know becomes ``Internal`` with its
    real number (cannot happen with a library that passed :func:`check_status_table`)."""
    cls = _ERROR_CLASS.get(status, Internal)
    return cls(message, status)


def check_status_table(
    status_str: Callable[[int], str],
    table: Tuple[Tuple[Status, str, Optional[Type[SessionStoreError]], bool], ...] = STATUS_TABLE,
) -> int:
    """Checks the table against a library's ``ss_status_str``: its statuses are the numbers from 0 up to
    the first it calls "unknown status" (scanning stops below the first binding-only status); each must
    be in the table with the same text, every table entry must be one of them or a binding-only status
    the library names with the table's text. Raises RuntimeError listing every mismatch; returns how many
    statuses the library has. Pure: tests call it with a fake ``status_str``."""
    by_number = {int(e[0]): e for e in table}
    limit = min(int(e[0]) for e in table if e[3])
    problems = []
    count = 0
    while True:
        text = status_str(count)
        if text == UNKNOWN_STATUS_TEXT:
            break
        if count >= limit:
            problems.append(f"the library names every status up to {count} ({text!r}), reserved for the bindings")
            break
        e = by_number.get(count)
        if e is None or e[3]:
            problems.append(f"status {count} ({text!r}) of the library is missing from this binding")
        elif e[1] != text:
            problems.append(f"status {count} is {text!r} in the library but {e[0].name} ({e[1]!r}) in this binding")
        count += 1
    for status, text, _cls, binding_only in table:
        if binding_only:
            got = status_str(int(status))
            if got != text:
                problems.append(
                    f"the library calls binding status {status.name} ({int(status)}) {got!r}, expected {text!r}"
                )
        elif int(status) >= count:
            problems.append(f"{status.name} ({int(status)}) is not a status of the library (it has {count})")
    if problems:
        raise RuntimeError(
            "the library's statuses do not match this binding's (STATUS_TABLE in sessionstore/_errors.py): "
            + "; ".join(problems)
        )
    return count
