"""sessionstore: a fast, thread-safe, in-memory session store for AI-agent frameworks (Python binding).

    from sessionstore import Store

    with Store(mode="agent") as store:
        store.upsert({"session_id": "s1", "user_id": "ava", "agent_id": "helper"})
        store.read("s1")          # -> dict, or None when absent

Agno drop-ins: ``sessionstore.agno.SessionStoreStorage`` (agno 1.x ``Storage``) and
``sessionstore.agno.SessionStoreDb`` (agno 2.x ``BaseDb``).

Results are decoded with orjson when it is installed (``JSON_DECODER`` says which), with the same
values as the standard json module gives.
"""

from ._errors import (
    STATUS_TABLE,
    Closed,
    Conflict,
    Internal,
    InvalidArgument,
    InvalidArgumentType,
    InvalidJson,
    InvalidSession,
    NotFound,
    PermissionDenied,
    SessionStoreError,
    Status,
    TooLarge,
    check_status_table,
)
from ._decode import DECODER as JSON_DECODER
from ._store import Fields, JsonInput, Mode, NonFiniteNumbers, QueryResult, Session, SessionTypes, Stats, Store, version

__version__ = "0.2.0"

__all__ = [
    "STATUS_TABLE",
    "Closed",
    "Conflict",
    "Fields",
    "Internal",
    "InvalidArgument",
    "InvalidArgumentType",
    "InvalidJson",
    "InvalidSession",
    "JSON_DECODER",
    "JsonInput",
    "Mode",
    "NonFiniteNumbers",
    "NotFound",
    "PermissionDenied",
    "QueryResult",
    "Session",
    "SessionStoreError",
    "SessionTypes",
    "Stats",
    "Status",
    "Store",
    "TooLarge",
    "check_status_table",
    "version",
]
