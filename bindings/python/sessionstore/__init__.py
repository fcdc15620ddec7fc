"""sessionstore: a fast, thread-safe session store for AI-agent frameworks, in memory or durable on disk
(Python binding).

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
    Corrupt,
    IOFailure,
    Internal,
    InvalidArgument,
    InvalidArgumentType,
    InvalidJson,
    InvalidSession,
    Locked,
    NotFound,
    PermissionDenied,
    Poisoned,
    SessionStoreError,
    Status,
    TooLarge,
    check_status_table,
)
from ._decode import DECODER as JSON_DECODER
from ._store import (
    DurabilityStats,
    Fields,
    JsonInput,
    Mode,
    NonFiniteNumbers,
    QueryResult,
    RecoveryStats,
    Session,
    SessionTypes,
    Stats,
    Store,
    SyncPolicy,
    version,
)

__version__ = "0.2.0"

__all__ = [
    "STATUS_TABLE",
    "Closed",
    "Conflict",
    "Corrupt",
    "DurabilityStats",
    "Fields",
    "IOFailure",
    "Internal",
    "InvalidArgument",
    "InvalidArgumentType",
    "InvalidJson",
    "InvalidSession",
    "JSON_DECODER",
    "JsonInput",
    "Locked",
    "Mode",
    "NonFiniteNumbers",
    "NotFound",
    "PermissionDenied",
    "Poisoned",
    "QueryResult",
    "RecoveryStats",
    "Session",
    "SessionStoreError",
    "SessionTypes",
    "Stats",
    "Status",
    "Store",
    "SyncPolicy",
    "TooLarge",
    "check_status_table",
    "version",
]
