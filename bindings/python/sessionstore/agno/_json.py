"""JSON encoding of Agno's session dicts (what Agno's SQL storages write with json.dumps).

NaN, Infinity and -Infinity are written as json.dumps writes them (Agno's float metrics can hold them);
the drop-ins open their store with ``non_finite_numbers="null"``, which stores each as null. A store
opened with ``"reject"`` (given with ``store=``) refuses them with InvalidJson naming the word."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
from typing import Any, Dict, Tuple

from .._errors import InvalidJson


def _default(o: Any) -> Any:
    if isinstance(o, enum.Enum):
        return o.value
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        to_dict = getattr(o, "to_dict", None)
        return to_dict() if callable(to_dict) else dataclasses.asdict(o)
    model_dump = getattr(o, "model_dump", None)
    if callable(model_dump):  # pydantic v2 models (e.g. a response_model's content)
        return model_dump(mode="json")
    if isinstance(o, (_dt.datetime, _dt.date)):
        return o.isoformat()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default).encode
_encode_ascii = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), default=_default).encode


def dumps(value: Any, what: str = "session") -> bytes:
    """Compact UTF-8 JSON; objects json cannot write are an InvalidJson error, never silently str()-ed."""
    try:
        text = _encode(value)
    except (TypeError, ValueError, RecursionError) as e:
        raise InvalidJson(f"{what} cannot be serialised to JSON: {e}") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: written as \u escapes, which the store keeps
        return _encode_ascii(value).encode("ascii")


_FIELDS: Dict[type, Tuple[str, ...]] = {}


def shallow_fields(obj: Any) -> Dict[str, Any]:
    """A dataclass's fields as a dict without asdict's deep copy: json.dumps walks the values itself."""
    cls = type(obj)
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(obj))
        _FIELDS[cls] = names
    return {n: getattr(obj, n) for n in names}
