"""sessionstore: a fast, thread-safe session store for AI-agent frameworks, in memory, durable on disk, or
shared by many processes on a Redis server (Python binding).

    from sessionstore import Store

    with Store(mode="agent") as store:
        store.upsert({"session_id": "s1", "user_id": "ava", "agent_id": "helper"})
        store.read("s1")          # -> dict, or None when absent
        store.append_runs("s1", [{"run_id": "r1"}])    # atomic: concurrent appends all land

    # bounded memory: idle sessions expire, the least recently written are evicted past a bound
    Store(idle_expiry_s=3600, max_sessions=100_000, user_max_sessions=50, when_full="evict")

    # shared: every process that opens this namespace at this url sees the same sessions
    Store(backend="redis", url="redis://127.0.0.1:6379/0", namespace="myapp")

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
    FeedTruncated,
    Full,
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
    Unavailable,
    VersionMismatch,
    check_status_table,
)
from ._decode import DECODER as JSON_DECODER
from ._store import (
    DEFAULT_COMMAND_TIMEOUT_MS,
    DEFAULT_CONNECT_TIMEOUT_MS,
    DEFAULT_FEED_BYTES,
    MAX_CHANGES,
    MAX_NAMESPACE_BYTES,
    Backend,
    BoundsStats,
    Change,
    ChangesResult,
    DeleteChange,
    DropChange,
    DurabilityStats,
    EvictChange,
    ExpireChange,
    FeedStats,
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
    UpsertChange,
    WhenFull,
    version,
)

__version__ = "0.4.0"

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT_MS",
    "DEFAULT_CONNECT_TIMEOUT_MS",
    "DEFAULT_FEED_BYTES",
    "MAX_CHANGES",
    "MAX_NAMESPACE_BYTES",
    "STATUS_TABLE",
    "Backend",
    "BoundsStats",
    "Change",
    "ChangesResult",
    "Closed",
    "Conflict",
    "Corrupt",
    "DeleteChange",
    "DropChange",
    "DurabilityStats",
    "EvictChange",
    "ExpireChange",
    "FeedStats",
    "FeedTruncated",
    "Fields",
    "Full",
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
    "Unavailable",
    "UpsertChange",
    "VersionMismatch",
    "WhenFull",
    "check_status_table",
    "version",
]
