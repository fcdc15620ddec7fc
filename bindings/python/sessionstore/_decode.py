"""Decoding the library's JSON: orjson when it can be imported, else the standard json module.

Decoding is most of the cost of a dict-returning call (json.loads takes about 6-8 us per KiB; orjson
about a third of that). The results are the same either way, because orjson is used only where it gives
what json.loads gives:

- orjson refuses some valid JSON that the store keeps byte for byte (lone surrogate escapes such as
  "\\ud800", numbers beyond a double such as 1e400): those inputs are decoded again by json.loads.
- orjson does not refuse integers beyond 64 bits: it turns them into floats, silently. Such an integer
  has at least 19 digits, so any input with a run of 19 digits (in a string too, or in a long fraction:
  false alarms only cost speed) goes to json.loads without trying orjson.

Floats, strings, escapes, duplicate keys (the last wins) and key order were checked to agree on millions
of random inputs. Set ``SESSIONSTORE_JSON_DECODER=json`` before the import to use json alone.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable

__all__ = ["DECODER", "loads", "loads_json"]

loads_json: Callable[[bytes], Any] = json.loads

# Every digit becomes "1", every other byte "0": a run of 19 digits is then a run of 19 "1"s. One
# translate and one find cost about 1 us per KiB, far less than a regular expression.
_DIGITS = bytes(0x31 if 0x30 <= b <= 0x39 else 0x30 for b in range(256))
_RUN = b"1" * 19


def _orjson() -> Any:
    if os.environ.get("SESSIONSTORE_JSON_DECODER", "").strip().lower() == "json":
        return None
    try:
        import orjson
    except ImportError:
        return None
    return orjson


_mod = _orjson()

#: The decoder in use: ``"orjson"`` (with json.loads for what orjson refuses or would change) or ``"json"``.
DECODER = "json" if _mod is None else "orjson"

loads: Callable[[bytes], Any] = loads_json
"""The value of JSON bytes from the library, exactly as ``json.loads`` gives it."""

if _mod is not None:
    _orjson_loads: Callable[[bytes], Any] = _mod.loads
    _orjson_error: type[Exception] = _mod.JSONDecodeError

    def _loads_orjson(data: bytes) -> Any:
        if _RUN in data.translate(_DIGITS):
            return loads_json(data)
        try:
            return _orjson_loads(data)
        except _orjson_error:
            return loads_json(data)

    loads = _loads_orjson
