"""agno 1.x: SessionStoreStorage, an ``agno.storage.base.Storage`` over sessionstore."""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional

from agno.storage.base import Storage
from agno.storage.session import Session
from agno.storage.session.agent import AgentSession
from agno.storage.session.team import TeamSession
from agno.storage.session.v2.workflow import WorkflowSession as WorkflowSessionV2
from agno.storage.session.workflow import WorkflowSession

from .._decode import loads as _loads
from .._store import Store
from ._json import dumps, shallow_fields

ModeV1 = Literal["agent", "team", "workflow", "workflow_v2"]

_FROM_DICT: Dict[str, Callable[[Mapping[str, Any]], Optional[Session]]] = {
    "agent": AgentSession.from_dict,
    "team": TeamSession.from_dict,
    "workflow": WorkflowSession.from_dict,
    "workflow_v2": WorkflowSessionV2.from_dict,
}


class SessionStoreStorage(Storage):
    """agno 1.x storage on sessionstore: a drop-in for ``InMemoryStorage(mode=..., storage_dict=...)``.

    - ``storage_dict`` (``{session_id: session}``, what ``InMemoryStorage`` keeps and what
      :meth:`export` returns) is imported when the storage is created; later writes do not go back
      into it: call :meth:`export` (or ``store.export_raw()`` for JSON bytes) to save the sessions.
    - ``store``: share the data of an existing :class:`sessionstore.Store` (one store for several agents,
      teams and workflows, each storage with its own mode); otherwise a new store is opened, with
      ``library`` and ``config`` (e.g. ``max_session_bytes``, ``path``, or the bounds ``idle_expiry_s``,
      ``max_age_s``, ``refresh_on_read``, ``max_sessions``, ``max_bytes``, ``user_max_sessions``,
      ``user_max_bytes``, ``when_full``) passed to :class:`~sessionstore.Store`. In a bounded store an
      expired or evicted session reads as absent (``read()`` is ``None``, as for a new session: Agno
      starts it again), and a write refused by ``when_full="refuse"`` raises :class:`sessionstore.Full`.
    - The store it opens has ``non_finite_numbers="null"`` unless ``config`` says otherwise: Agno's float
      metrics can hold NaN or infinities, which json.dumps writes and which are not JSON; they are
      stored as null (read back as ``None``). A ``store=`` keeps its own setting.
    - Agents, teams and workflows set ``storage.mode``; the storage then switches to a handle of that
      mode on the same data.
    - Stored sessions carry the store's ``version`` (see :meth:`sessionstore.Store.upsert_if`). Nothing
      here drops it: Agno's session classes ignore it (``from_dict`` picks the fields it knows), the
      dicts of :meth:`export` keep it (``InMemoryStorage`` loads them as they are), and an import
      replaces it with the importing store's own numbers.

    Differences from ``InMemoryStorage``, on purpose: errors raise :class:`sessionstore.SessionStoreError`
    instead of being logged and turned into ``None``; a read returns a copy (changing it changes nothing
    stored); ``read()`` of another type's session is ``None``; an id stored with another type is a
    :class:`sessionstore.Conflict`; ``created_at`` is kept on update; a negative ``limit`` means all;
    ``drop()`` removes this mode's sessions (sessions of other modes sharing the store stay); an
    ``upsert()`` that would move a stored session to another ``user_id`` (one that is set; ``None``
    included) raises :class:`sessionstore.PermissionDenied` and changes nothing (``InMemoryStorage``
    lets anyone overwrite any session).
    """

    def __init__(
        self,
        mode: Optional[ModeV1] = "agent",
        storage_dict: Optional[Mapping[str, Mapping[str, Any]]] = None,
        *,
        store: Optional[Store] = None,
        library: Optional[str] = None,
        **config: Any,
    ) -> None:
        m: ModeV1 = "agent" if mode is None else mode
        self._lock = threading.Lock()
        if store is not None:
            self._store: Store = store.share(m)
        else:
            config.setdefault("non_finite_numbers", "null")
            self._store = Store(m, library=library, **config)
        super().__init__(m)
        if storage_dict:
            self._store.import_(storage_dict)

    # Storage.mode is a property with a setter; Agent/Team/Workflow set it. Switching mode takes a new
    # handle of that mode on the same data (ss_store_share) and closes the old one.
    @property
    def mode(self) -> ModeV1:
        return self._mode

    @mode.setter
    def mode(self, value: Optional[ModeV1]) -> None:
        new: ModeV1 = "agent" if value is None else value
        store = getattr(self, "_store", None)
        if store is not None and store.mode != new:
            with self._lock:
                old = self._store
                self._store = old.share(new)
                old.close()
        self._mode = new

    @property
    def store(self) -> Store:
        """The :class:`sessionstore.Store` handle behind this storage (its mode is this storage's)."""
        return self._store

    def _from_dict(self, data: Mapping[str, Any]) -> Optional[Session]:
        return _FROM_DICT[self._store.mode](data)

    # --- Storage -----------------------------------------------------------------------------------

    def create(self) -> None:
        """Nothing to create in memory."""

    def upgrade_schema(self) -> None:
        """No schema to upgrade."""

    def read(self, session_id: str, user_id: Optional[str] = None) -> Optional[Session]:
        """The session (a copy), or ``None`` when absent, of another mode or (``user_id`` given) another user's."""
        raw = self._store.read_raw(session_id, user_id or None)
        return None if raw is None else self._from_dict(_loads(raw))

    def get_all_session_ids(self, user_id: Optional[str] = None, entity_id: Optional[str] = None) -> List[str]:
        return self._store.get_all_session_ids(user_id or None, entity_id or None)

    def get_all_sessions(self, user_id: Optional[str] = None, entity_id: Optional[str] = None) -> List[Session]:
        rows = _loads(self._store.get_all_sessions_raw(user_id or None, entity_id or None))
        return [s for s in map(self._from_dict, rows) if s is not None]

    def get_recent_sessions(
        self,
        user_id: Optional[str] = None,
        entity_id: Optional[str] = None,
        limit: Optional[int] = 2,
    ) -> List[Session]:
        """Newest ``created_at`` first (same-second ties: most recently inserted first); ``limit=None``
        or negative: all."""
        rows = _loads(self._store.get_recent_sessions_raw(user_id or None, entity_id or None, limit))
        return [s for s in map(self._from_dict, rows) if s is not None]

    def upsert(self, session: Session) -> Optional[Session]:
        """Stores the session (``updated_at`` set to now, ``created_at`` kept or set) and returns it, as
        ``InMemoryStorage`` does (the object given, not re-read). Raises
        :class:`sessionstore.PermissionDenied` (nothing changed) when the stored session belongs to
        another user, :class:`sessionstore.Full` when a store opened with ``when_full="refuse"`` has no
        room for it."""
        if self._store.mode == "workflow_v2" or not hasattr(session, "__dataclass_fields__"):
            data: Any = session.to_dict()
        else:
            data = shallow_fields(session)
        self._store.upsert_raw(dumps(data), return_stored=False)
        return session

    def delete_session(self, session_id: Optional[str] = None) -> None:
        if session_id is None:
            return
        self._store.delete_session(session_id)

    def drop(self) -> None:
        """Removes every session of this storage's mode."""
        self._store.drop()

    # --- beyond Storage ----------------------------------------------------------------------------

    def export(self) -> Dict[str, Dict[str, Any]]:
        """Every session as ``{session_id: session}``: loads into ``InMemoryStorage(storage_dict=...)``."""
        return self._store.export()

    def close(self) -> None:
        """Closes this storage's handle (the data lives on in other handles sharing it)."""
        self._store.close()

    def __enter__(self) -> "SessionStoreStorage":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
