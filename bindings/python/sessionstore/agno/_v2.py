"""agno 2.x: SessionStoreDb, the session methods of ``agno.db.base.BaseDb`` over sessionstore."""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from agno.db.base import BaseDb, SessionType
from agno.db.utils import deserialize_session, get_sort_value
from agno.session import AgentSession, Session, TeamSession, WorkflowSession

from .._errors import InvalidArgument, InvalidArgumentType, NotFound, PermissionDenied
from .._decode import loads as _loads
from .._store import Store
from ._json import dumps

AnySession = Union[AgentSession, TeamSession, WorkflowSession]
Row = Dict[str, Any]

_TYPES: Tuple[SessionType, ...] = (SessionType.AGENT, SessionType.TEAM, SessionType.WORKFLOW)
# get_sessions(session_type=None): Agno 2's three types in one query. Not "any", which would also list
# Agno 1's workflow_v2 sessions of a shared store, a type get_session() never reads and Agno 2 cannot load.
_ALL_TYPES: List[str] = [t.value for t in _TYPES]
_BY_VALUE: Dict[str, SessionType] = {t.value: t for t in _TYPES}
# ss_upsert_many names the refused element of a batch: "sessions[3]: ...".
_ELEMENT = re.compile(r"sessions\[(\d+)\]")
# Sort keys the library sorts by itself; any other field is sorted here, as InMemoryDb does.
_NATIVE_SORT = ("created_at", "updated_at", "session_id")


def _unsupported(name: str, what: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"SessionStoreDb.{name}() is not implemented: sessionstore stores sessions only, not {what}. "
            "Give the agent or team another db for that feature (e.g. agno's InMemoryDb or SqliteDb)."
        )

    method.__name__ = name
    method.__qualname__ = f"SessionStoreDb.{name}"
    return method


def _session_type(value: Any, what: str = "session_type") -> SessionType:
    try:
        return SessionType(value)
    except ValueError:
        raise InvalidArgument(f"{what} must be one of agent, team, workflow; got {value!r}") from None


def _type_of(session: Any) -> SessionType:
    if isinstance(session, AgentSession):
        return SessionType.AGENT
    if isinstance(session, TeamSession):
        return SessionType.TEAM
    if isinstance(session, WorkflowSession):
        return SessionType.WORKFLOW
    raise InvalidArgumentType(f"session must be an AgentSession, TeamSession or WorkflowSession, got {type(session).__name__}")


class SessionStoreDb(BaseDb):
    """agno 2.x database whose session methods run on sessionstore (a drop-in for ``InMemoryDb`` for
    sessions). One store holds the three session types (agent, team, workflow), each on its own handle.

    ``SessionStoreDb(store=..., library=..., id=..., **config)``: ``store`` shares the data of an
    existing :class:`sessionstore.Store`; otherwise a new one is opened with ``library`` and ``config``
    (``max_session_bytes``, ``non_finite_numbers``, ``path``..., and the bounds ``idle_expiry_s``,
    ``max_age_s``, ``refresh_on_read``, ``max_sessions``, ``max_bytes``, ``user_max_sessions``,
    ``user_max_bytes``, ``when_full``: see :class:`sessionstore.Store`). ``id`` is BaseDb's id. In a
    bounded store an expired or evicted session is absent (``get_session`` returns ``None``, listings
    leave it out), and a write refused by ``when_full="refuse"`` raises :class:`sessionstore.Full`
    (``upsert_sessions``: the whole batch of that type is refused). The store it opens has
    ``non_finite_numbers="null"`` unless ``config`` says otherwise: Agno's float metrics can hold NaN or
    infinities, which json.dumps writes and which are not JSON; they are stored as null (read back as
    ``None``). A ``store=`` keeps its own setting.

    Ownership is the library's, atomic: ``upsert_session`` of a session stored with another set
    ``user_id`` returns ``None`` and changes nothing (as InMemoryDb); ``upsert_sessions`` skips such
    sessions; ``rename_session``, ``delete_session`` and ``delete_sessions`` with a ``user_id`` touch only
    that user's sessions (``""`` is no filter, as everywhere in sessionstore).

    Stored sessions carry the store's ``version`` (see :meth:`sessionstore.Store.upsert_if`). Nothing here
    drops it: Agno's session classes ignore it (``from_dict`` picks the fields it knows), rows
    (``deserialize=False``) and :meth:`export` keep it, and an import replaces it.

    Implemented: ``get_session``, ``get_sessions`` (filters, paging, sorting and totals, as InMemoryDb),
    ``upsert_session``, ``upsert_sessions``, ``rename_session``, ``delete_session``, ``delete_sessions``,
    ``table_exists``, the schema-version no-ops, plus ``export``/``import_`` and ``close``. Every other
    abstract method of BaseDb (memories, metrics, evals, knowledge, traces and spans, culture, learnings)
    raises ``NotImplementedError`` naming the method: sessionstore stores sessions only.
    """

    def __init__(
        self,
        *,
        store: Optional[Store] = None,
        library: Optional[str] = None,
        id: Optional[str] = None,
        **config: Any,
    ) -> None:
        super().__init__(id=id)
        if store is not None:
            base = store.share("agent")
        else:
            config.setdefault("non_finite_numbers", "null")
            base = Store("agent", library=library, **config)
        self._handles: Dict[SessionType, Store] = {
            SessionType.AGENT: base,
            SessionType.TEAM: base.share("team"),
            SessionType.WORKFLOW: base.share("workflow"),
        }

    @property
    def store(self) -> Store:
        """The agent-mode :class:`sessionstore.Store` handle (``share()`` it for other modes)."""
        return self._handles[SessionType.AGENT]

    def _handle(self, session_type: Any) -> Store:
        return self._handles[_session_type(session_type)]

    def _types(self, session_type: Optional[Any]) -> Sequence[SessionType]:
        return _TYPES if session_type is None else (_session_type(session_type),)

    # --- housekeeping --------------------------------------------------------------------------------

    def table_exists(self, table_name: str) -> bool:
        return True

    def get_latest_schema_version(self, table_name: str = "") -> str:
        return str(self.default_schema_version)

    def upsert_schema_version(self, table_name: str = "", version: str = "") -> None:
        return None

    def close(self) -> None:
        """Closes the handles (the data lives on in a store it was shared from)."""
        for h in self._handles.values():
            h.close()

    def export(self) -> Dict[str, Row]:
        """Every session as ``{session_id: session}`` (each with its ``session_type``)."""
        return self.store.export()

    def import_(self, data: Mapping[str, Mapping[str, Any]]) -> int:
        """Loads ``{session_id: session}`` (an :meth:`export`); records without ``session_type`` are agent sessions."""
        return self.store.import_(data)

    # --- sessions ------------------------------------------------------------------------------------

    def get_session(
        self,
        session_id: str,
        session_type: Optional[SessionType] = None,
        user_id: Optional[str] = None,
        deserialize: Optional[bool] = True,
    ) -> Optional[Union[AnySession, Row]]:
        """The session (a copy), or ``None``; ``session_type=None`` looks in every type."""
        for t in self._types(session_type):
            raw = self._handles[t].read_raw(session_id, user_id)
            if raw is not None:
                row: Row = _loads(raw)
                return row if not deserialize else deserialize_session(t, row)
        return None

    def get_sessions(
        self,
        session_type: Optional[SessionType] = None,
        user_id: Optional[str] = None,
        component_id: Optional[str] = None,
        session_name: Optional[str] = None,
        start_timestamp: Optional[int] = None,
        end_timestamp: Optional[int] = None,
        limit: Optional[int] = None,
        page: Optional[int] = None,
        sort_by: Optional[str] = None,
        sort_order: Optional[str] = None,
        deserialize: Optional[bool] = True,
    ) -> Union[List[AnySession], Tuple[List[Row], int]]:
        """Filtered, sorted, paged sessions as InMemoryDb gives them, from one query of the library
        (``session_type=None``: across the three types, sorted and paged as one list): ``session_name`` a
        case-insensitive substring (full case folding, ``str.casefold``, where InMemoryDb lowercases);
        ``start_timestamp``/``end_timestamp`` inclusive bounds on ``created_at``; a page is ``limit``
        rows from ``(page - 1) * limit`` (``page`` alone is ignored, as in InMemoryDb); ``sort_order``
        ``"asc"``, anything else descending; ``sort_by=None`` gives ``created_at`` ascending (the
        insertion order InMemoryDb keeps, for sessions created one after another). With
        ``deserialize=False``: ``(rows, total)``, ``total`` counting every match before paging. Whole
        sessions, as Agno returns them."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise InvalidArgument(f"limit must be None or an int >= 0, got {limit!r}")
        if page is not None and (isinstance(page, bool) or not isinstance(page, int) or page < 1):
            raise InvalidArgument(f"page must be None or an int >= 1, got {page!r}")
        offset = (page - 1) * limit if (limit is not None and page is not None) else 0
        order = "asc" if sort_order == "asc" else "desc"
        key = sort_by if sort_by is not None else "created_at"
        if sort_by is None:
            order = "asc"
        native = key in _NATIVE_SORT
        q: Dict[str, Any] = {"sort_by": key if native else "created_at", "sort_order": order if native else "asc"}
        if user_id is not None:
            q["user_id"] = user_id
        if component_id is not None:
            q["entity_id"] = component_id
        if session_name:  # "" matches every session in InMemoryDb
            q["session_name"] = session_name
        if start_timestamp is not None:
            q["created_after"] = start_timestamp
        if end_timestamp is not None:
            q["created_before"] = end_timestamp
        q["session_type"] = _ALL_TYPES if session_type is None else _session_type(session_type).value
        # A native sort: the library sorts and pages, across types too. Another sort key: every match,
        # sorted and paged here as InMemoryDb does.
        if native and limit is not None:
            q["limit"], q["offset"] = limit, offset
        res = _loads(self.store.query_raw(dumps(q, "query")))
        rows: List[Row] = res["sessions"]
        total: int = res["total"]
        if not native:
            rows = _sort_like_in_memory_db(rows, key, order)
            if limit is not None:
                rows = rows[offset : offset + limit]
        if not deserialize:
            return rows, total
        return [deserialize_session(_BY_VALUE[r["session_type"]], r) for r in rows]

    def rename_session(
        self,
        session_id: str,
        session_type: Optional[SessionType],
        session_name: str,
        user_id: Optional[str] = None,
        deserialize: Optional[bool] = True,
    ) -> Optional[Union[AnySession, Row]]:
        """Sets ``session_data.session_name``; ``None`` when no such session (of that user, if given).
        One atomic, user-scoped call of the library (an id has one type, so at most one matches)."""
        for t in self._types(session_type):
            try:
                row: Row = _loads(self._handles[t].rename_session_raw(session_id, session_name, user_id))
            except NotFound:
                continue
            return row if not deserialize else deserialize_session(t, row)
        return None

    def upsert_session(
        self, session: AnySession, deserialize: Optional[bool] = True
    ) -> Optional[Union[AnySession, Row]]:
        """Stores the session (``updated_at`` now, ``created_at`` kept or set) and returns it as stored.
        As InMemoryDb: ``None`` (nothing stored) when the stored session belongs to another user (its
        ``user_id`` is set and differs from this one's, ``None`` included), decided atomically by the
        library (:class:`sessionstore.PermissionDenied`). Raises :class:`sessionstore.Full` when a store
        opened with ``when_full="refuse"`` has no room for it (InMemoryDb has no bounds)."""
        t = _type_of(session)
        try:
            raw = self._handles[t].upsert_raw(dumps(session.to_dict()))
        except PermissionDenied:
            return None
        row: Row = _loads(raw)
        return row if not deserialize else deserialize_session(t, row)

    def upsert_sessions(
        self,
        sessions: List[AnySession],
        deserialize: Optional[bool] = True,
        preserve_updated_at: bool = False,
    ) -> List[Union[AnySession, Row]]:
        """Stores each session as :meth:`upsert_session`: a session stored with another user's id is
        skipped (as InMemoryDb skips it). Each type's batch is one atomic call of the library; a refused
        session is taken out and the rest sent again (one more call per refused session).
        ``preserve_updated_at=True`` keeps the sessions' ``updated_at``: the accepted sessions are then
        loaded again with their timestamps (an import, after the upsert has checked who owns them)."""
        groups: Dict[SessionType, List[Row]] = {}
        for s in sessions:
            if s is None:
                continue
            groups.setdefault(_type_of(s), []).append(s.to_dict())
        out: List[Union[AnySession, Row]] = []
        for t, rows in groups.items():
            h = self._handles[t]
            rows, stored = _upsert_owned(h, rows)
            if preserve_updated_at and rows:
                h.import_raw(dumps({r["session_id"]: dict(r, session_type=t.value) for r in rows}, "sessions"))
                stored = [_loads(h.read_raw(r["session_id"]) or b"null") for r in rows]
            out.extend(r if not deserialize else deserialize_session(t, r) for r in stored if r is not None)
        return out

    def delete_session(self, session_id: str, user_id: Optional[str] = None) -> bool:
        """Deletes the session (of that user, if given) of whichever type, atomically; True if one was
        removed."""
        for h in self._handles.values():
            if h.delete_session(session_id, user_id):
                return True
        return False

    def delete_sessions(self, session_ids: List[str], user_id: Optional[str] = None) -> None:
        """Deletes these sessions (of that user, if given), of every type: one atomic call per type."""
        ids = list(session_ids)
        if not ids:
            return
        for h in self._handles.values():
            h.delete_sessions(ids, user_id)

    # --- everything else BaseDb declares: not sessions --------------------------------------------

    clear_memories = _unsupported("clear_memories", "user memories")
    delete_user_memory = _unsupported("delete_user_memory", "user memories")
    delete_user_memories = _unsupported("delete_user_memories", "user memories")
    get_all_memory_topics = _unsupported("get_all_memory_topics", "user memories")
    get_user_memory = _unsupported("get_user_memory", "user memories")
    get_user_memories = _unsupported("get_user_memories", "user memories")
    get_user_memory_stats = _unsupported("get_user_memory_stats", "user memories")
    upsert_user_memory = _unsupported("upsert_user_memory", "user memories")
    upsert_memories = _unsupported("upsert_memories", "user memories")
    get_metrics = _unsupported("get_metrics", "metrics")
    calculate_metrics = _unsupported("calculate_metrics", "metrics")
    delete_knowledge_content = _unsupported("delete_knowledge_content", "knowledge")
    get_knowledge_content = _unsupported("get_knowledge_content", "knowledge")
    get_knowledge_contents = _unsupported("get_knowledge_contents", "knowledge")
    upsert_knowledge_content = _unsupported("upsert_knowledge_content", "knowledge")
    create_eval_run = _unsupported("create_eval_run", "eval runs")
    delete_eval_runs = _unsupported("delete_eval_runs", "eval runs")
    get_eval_run = _unsupported("get_eval_run", "eval runs")
    get_eval_runs = _unsupported("get_eval_runs", "eval runs")
    rename_eval_run = _unsupported("rename_eval_run", "eval runs")
    upsert_trace = _unsupported("upsert_trace", "traces")
    get_trace = _unsupported("get_trace", "traces")
    get_traces = _unsupported("get_traces", "traces")
    get_trace_stats = _unsupported("get_trace_stats", "traces")
    create_span = _unsupported("create_span", "spans")
    create_spans = _unsupported("create_spans", "spans")
    get_span = _unsupported("get_span", "spans")
    get_spans = _unsupported("get_spans", "spans")
    clear_cultural_knowledge = _unsupported("clear_cultural_knowledge", "cultural knowledge")
    delete_cultural_knowledge = _unsupported("delete_cultural_knowledge", "cultural knowledge")
    get_cultural_knowledge = _unsupported("get_cultural_knowledge", "cultural knowledge")
    get_all_cultural_knowledge = _unsupported("get_all_cultural_knowledge", "cultural knowledge")
    upsert_cultural_knowledge = _unsupported("upsert_cultural_knowledge", "cultural knowledge")
    get_learning = _unsupported("get_learning", "learnings")
    upsert_learning = _unsupported("upsert_learning", "learnings")
    delete_learning = _unsupported("delete_learning", "learnings")
    get_learnings = _unsupported("get_learnings", "learnings")


def _upsert_owned(h: Store, rows: List[Row]) -> Tuple[List[Row], List[Row]]:
    """ss_upsert_many of the rows, without those the library refuses as another user's: returns the
    rows stored and the stored sessions."""
    rows = list(rows)
    while rows:
        try:
            return rows, _loads(h.upsert_many_raw(dumps(rows, "sessions")))
        except PermissionDenied as e:
            m = _ELEMENT.match(e.message)
            if m is None or int(m.group(1)) >= len(rows):  # pragma: no cover - the library names the element
                raise
            del rows[int(m.group(1))]
    return rows, []


def _sort_like_in_memory_db(rows: List[Row], key: str, order: str) -> List[Row]:
    if not rows or key not in rows[0]:
        return rows  # InMemoryDb: an unknown sort field leaves the order as is
    try:
        return sorted(
            rows,
            key=lambda r: (get_sort_value(r, key) is None, get_sort_value(r, key)),
            reverse=order != "asc",
        )
    except TypeError:
        return rows
