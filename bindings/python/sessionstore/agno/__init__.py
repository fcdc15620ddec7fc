"""Agno drop-ins backed by sessionstore.

- :class:`SessionStoreStorage`: agno 1.x ``agno.storage.base.Storage`` (replaces ``InMemoryStorage``)::

      from sessionstore.agno import SessionStoreStorage
      agent = Agent(model=..., storage=SessionStoreStorage(), add_history_to_messages=True)

- :class:`SessionStoreDb`: the session methods of agno 2.x ``agno.db.base.BaseDb`` (replaces ``InMemoryDb``)::

      from sessionstore.agno import SessionStoreDb
      agent = Agent(model=..., db=SessionStoreDb(), add_history_to_context=True)

Each class is imported on first use, so this module loads with either agno major version installed;
using the one that does not match the installed agno raises ImportError saying so.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# For type checkers only: each needs its agno major version. `make mypy` checks with one installed at a
# time and tells mypy which (--always-false AGNO_V1 or AGNO_V2).
AGNO_V1 = AGNO_V2 = True
if TYPE_CHECKING:  # pragma: no cover
    if AGNO_V1:
        from ._v1 import SessionStoreStorage as SessionStoreStorage
    if AGNO_V2:
        from ._v2 import SessionStoreDb as SessionStoreDb

__all__ = ["SessionStoreStorage", "SessionStoreDb"]

_WHERE = {"SessionStoreStorage": ("._v1", "agno 1.x (agno.storage.base)"), "SessionStoreDb": ("._v2", "agno 2.x (agno.db.base)")}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(where[0], __name__)
    except ImportError as e:
        try:
            from importlib.metadata import version

            installed = f"agno {version('agno')} is installed"
        except Exception:
            installed = "agno is not installed"
        raise ImportError(f"sessionstore.agno.{name} needs {where[1]}; {installed}: {e}") from e
    value = getattr(module, name)
    globals()[name] = value
    return value
