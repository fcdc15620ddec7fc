"""The decoder: orjson when installed, with exactly json.loads's results (what orjson refuses or would
change goes to json.loads); SESSIONSTORE_JSON_DECODER=json forces the standard module."""

import json
import os
import random
import subprocess
import sys

import pytest

import sessionstore as ss
from sessionstore import Store, _decode

# Inputs where orjson alone would differ from json.loads: it refuses lone surrogates and numbers beyond a
# double, and turns integers beyond 64 bits into floats.
EDGES = [
    b'"\\ud800"', b'"a\\udc00b"', b'{"k\\ud800":1}', b"1e400", b"[-1e400]", b"1.7976931348623159e308",
    b"18446744073709551616", b"-9223372036854775809", b"[100000000000000000000000000000000000000000]",
    b'{"n":-123456789012345678901234567890}', b"18446744073709551615", b"-9223372036854775808",
    b'"1234567890123456789012"', b"0.00012345678901234567", b"1.5", b"-0", b"-0.0", b'{"a":1,"a":2}',
    b'"\\ud83d\\ude00 caf\\u00e9 \\/"', b"[]", b"{}", b"null", b"5e-324", b"123456789012345678e5",
]


@pytest.mark.parametrize("data", EDGES, ids=[e.decode() for e in EDGES])
def test_edges_decode_as_json_loads(data: bytes) -> None:
    want = json.loads(data)
    got = _decode.loads(data)
    assert repr(got) == repr(want) and type(got) is type(want)


def test_random_documents_decode_as_json_loads() -> None:
    rnd = random.Random(11)

    def number() -> str:
        digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 26))).lstrip("0") or "0"
        s = rnd.choice(["", "-"]) + digits
        if rnd.random() < 0.5:
            s += "." + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 20)))
        if rnd.random() < 0.3:
            s += rnd.choice("eE") + rnd.choice(["", "+", "-"]) + str(rnd.randint(0, 330))
        return s

    def string() -> str:
        parts = []
        for _ in range(rnd.randint(0, 8)):
            r = rnd.random()
            if r < 0.1:
                parts.append("\\u%04x" % rnd.choice([0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0x00E9, 0x0000]))
            elif r < 0.2:
                parts.append(rnd.choice(['\\"', "\\\\", "\\/", "\\n", "\\t"]))
            else:
                parts.append(rnd.choice("abc é€😀 0123456789"))
        return '"' + "".join(parts) + '"'

    def value(depth: int = 0) -> str:
        r = rnd.random()
        if depth > 3 or r < 0.4:
            return rnd.choice([number, string, lambda: rnd.choice(["true", "false", "null"])])()
        if r < 0.7:
            return "[" + ",".join(value(depth + 1) for _ in range(rnd.randint(0, 4))) + "]"
        return "{" + ",".join(f"{string()}:{value(depth + 1)}" for _ in range(rnd.randint(0, 4))) + "}"

    for _ in range(5000):
        data = value().encode()
        assert repr(_decode.loads(data)) == repr(json.loads(data)), data


def test_store_results_keep_values_orjson_alone_would_change(store: Store) -> None:
    raw = b'{"session_id":"big","n":18446744073709551616,"m":-9223372036854775809,"f":1e400,"s":"\\ud800"}'
    store.upsert_raw(raw)
    got = store.read("big")
    assert got is not None
    assert got["n"] == 2**64 and type(got["n"]) is int and got["m"] == -(2**63) - 1
    assert got["f"] == float("inf") and got["s"] == "\ud800"
    assert store.query(fields=["n"])["sessions"] == [{"n": 2**64}]


def test_decoder_in_use_and_the_variable_that_forces_json() -> None:
    try:
        import orjson  # noqa: F401

        have = True
    except ImportError:
        have = False
    forced = os.environ.get("SESSIONSTORE_JSON_DECODER", "").strip().lower() == "json"
    assert ss.JSON_DECODER == ("orjson" if have and not forced else "json")
    env = dict(os.environ, SESSIONSTORE_JSON_DECODER="json")
    code = "import sessionstore as s, json; st = s.Store(); st.upsert({'session_id': 'x', 'n': 2**70}); " \
           "assert st.read('x')['n'] == 2**70; print(s.JSON_DECODER)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "json", r.stderr
