#!/usr/bin/env python3
"""Python binding benchmark: one JSON line per op and implementation, all measured in this run.

    make bench            (or: python bench/bench.py --c-bench build/c_bench --agno2-python .../python)

Implementations (the same generated Agno-shaped sessions of about 1 KiB, JSON with session_id first):
  c             bench/c_bench.c through the C ABI (the baseline for the binding's overhead)
  sessionstore  the Python binding: read_raw/upsert_raw (bytes), read/upsert (dicts), decoding with
                orjson when it is installed (it is in the bench's virtualenvs)
  sessionstore-json  the same dict calls with the standard json module (SESSIONSTORE_JSON_DECODER=json,
                measured in a subprocess of this run): the decoder of an install without orjson
  agno1-ours    sessionstore.agno.SessionStoreStorage (returns agno 1 AgentSession objects)
  agno1         agno 1.8.4 InMemoryStorage (returns AgentSession objects; reads hand out live references)
  agno2-ours    sessionstore.agno.SessionStoreDb, get_session/upsert_session(deserialize=False) (dicts)
  agno2         agno 2 InMemoryDb, the same calls (dicts, deep copies)
Each figure is the best of several rounds (mean ns per call in a round), the steadiest on a shared machine.
Listings (get_recent_sessions, user-filtered listings) are measured at --big sessions (default 100,000).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Sequence

WORDS = ("the a to of and in for on with that session agent model answer question plan trip budget flight hotel "
         "report sales revenue team meeting code error test deploy recipe noodle book chapter café Zürich").split()


def gen_sessions(n: int, seed: int = 7) -> List[str]:
    """n sessions of about 1 KiB: one user per 10 sessions, 10 agents; JSON lines, session_id first."""
    rnd = random.Random(seed)
    out = []
    users = max(1, n // 10)
    for i in range(n):
        text = " ".join(rnd.choice(WORDS) for _ in range(60))
        s = {
            "session_id": f"sess-{i:07d}-{rnd.getrandbits(32):08x}",
            "user_id": f"user-{i % users:06d}",
            "agent_id": f"agent-{rnd.randrange(10)}",
            "team_session_id": None,
            "workflow_session_id": None,
            "created_at": 1_700_000_000 + i * 7,
            "updated_at": 1_700_000_000 + i * 7 + rnd.randrange(1000),
            "session_data": {"session_name": f"Trip {i}", "session_state": {"step": rnd.randrange(10)}},
            "agent_data": {"name": "Assistant", "model": {"id": "gpt-4o", "provider": "OpenAI"}},
            "extra_data": None,
            "memory": {"runs": [{"messages": [{"role": "user", "content": text[:200]},
                                              {"role": "assistant", "content": text[200:]}]}]},
        }
        line = json.dumps(s, ensure_ascii=False, separators=(",", ":"))
        pad = 1024 - len(line.encode())
        if pad > 0:
            s["memory"]["runs"][0]["messages"][1]["content"] += "x" * pad
            line = json.dumps(s, ensure_ascii=False, separators=(",", ":"))
        out.append(line)
    return out


def best_ns(fn: Callable[[Any], Any], args: Sequence[Any], rounds: int) -> float:
    for a in args[: max(1, len(args) // 10)]:
        fn(a)
    best = float("inf")
    for _ in range(rounds):
        gc.disable()
        t0 = time.perf_counter_ns()
        for a in args:
            fn(a)
        per = (time.perf_counter_ns() - t0) / len(args)
        gc.enable()
        best = min(best, per)
    return best


def emit(impl: str, op: str, ns: float, sessions: int, results: List[Dict[str, Any]], lang: str = "python",
         **extra: Any) -> None:
    row = {"lang": lang, "impl": impl, "op": op, "ns_per_op": round(ns, 1), "sessions": sessions, **extra}
    results.append(row)
    print(json.dumps(row), flush=True)


def picks(rnd: random.Random, items: Sequence[Any], k: int) -> List[Any]:
    return [items[rnd.randrange(len(items))] for _ in range(k)]


def run_agno1_and_binding(lines: List[str], big: int, calls: int, rounds: int, results: List[Dict[str, Any]]) -> None:
    from agno.storage.in_memory import InMemoryStorage
    from agno.storage.session.agent import AgentSession

    import sessionstore
    from sessionstore.agno import SessionStoreStorage

    n = len(lines)
    dicts = [json.loads(x) for x in lines]
    raws = [x.encode() for x in lines]
    ids = [d["session_id"] for d in dicts]
    users = sorted({d["user_id"] for d in dicts})
    rnd = random.Random(1)
    read_ids = picks(rnd, ids, calls)
    up_idx = picks(rnd, range(n), calls // 2)

    store = sessionstore.Store()
    store.upsert_many_raw(b"[" + b",".join(raws) + b"]")
    lib = store._lib  # the floor: a no-op-ish foreign call (ss_version) through the same ctypes path
    emit("sessionstore", "ctypes_call_floor", best_ns(lambda _: lib.version(), range(calls), rounds), n, results)
    emit("sessionstore", "read", best_ns(store.read_raw, read_ids, rounds), n, results)
    up_raw = [raws[i] for i in up_idx]
    emit("sessionstore", "upsert", best_ns(store.upsert_raw, up_raw, rounds), n, results)
    up_dicts = [dicts[i] for i in up_idx]
    emit("sessionstore", "upsert_dict", best_ns(lambda d: store.upsert(d, return_stored=False), up_dicts, rounds), n, results)
    rec_users = picks(rnd, users, calls // 2)
    emit("sessionstore", "get_recent_sessions", best_ns(lambda u: store.get_recent_sessions_raw(u, None, 5), rec_users, rounds), n, results)
    store.close()
    run_decode_rows("sessionstore", lines, calls, rounds, results)

    # agno 1.8.4 InMemoryStorage and our drop-in, on the same sessions, as Agno calls them.
    sessions = [AgentSession.from_dict(d) for d in dicts]
    theirs = InMemoryStorage(storage_dict={d["session_id"]: d for d in json.loads("[" + ",".join(lines) + "]")})
    ours = SessionStoreStorage()
    ours.store.upsert_many_raw(b"[" + b",".join(raws) + b"]")
    up_sessions = [sessions[i] for i in up_idx]
    for impl, st in (("agno1", theirs), ("agno1-ours", ours)):
        emit(impl, "read", best_ns(st.read, read_ids, rounds), n, results)
        emit(impl, "upsert", best_ns(st.upsert, up_sessions, rounds), n, results)
    ours.close()
    del theirs, sessions

    # Listings at `big` sessions: agno 1 scans its dict; sessionstore walks an index.
    if big <= 0:
        return
    big_lines = gen_sessions(big, seed=11)
    big_dicts = json.loads("[" + ",".join(big_lines) + "]")
    big_users = sorted({d["user_id"] for d in big_dicts})
    agents = sorted({d["agent_id"] for d in big_dicts})
    theirs = InMemoryStorage(storage_dict={d["session_id"]: d for d in big_dicts})
    ours = SessionStoreStorage()
    ours.store.upsert_many_raw(("[" + ",".join(big_lines) + "]").encode())
    del big_lines
    few = max(3, rounds)
    u_small = picks(rnd, big_users, 5)
    u_many = picks(rnd, big_users, 2000)
    for impl, st, us, r in (("agno1", theirs, u_small, 3), ("agno1-ours", ours, u_many, rounds)):
        emit(impl, "get_recent_sessions", best_ns(lambda u: st.get_recent_sessions(user_id=u, limit=5), us, r), big, results)
        emit(impl, "get_all_session_ids_user", best_ns(lambda u: st.get_all_session_ids(user_id=u), us, r), big, results)
        emit(impl, "get_all_sessions_user", best_ns(lambda u: st.get_all_sessions(user_id=u), us, r), big, results)
        ag = agents[:2] if impl == "agno1" else agents * 3
        emit(impl, "get_all_session_ids_entity", best_ns(lambda a: st.get_all_session_ids(entity_id=a), ag, min(r, few)), big, results)
    ours.close()


def run_decode_rows(impl: str, lines: List[str], calls: int, rounds: int, results: List[Dict[str, Any]]) -> None:
    """The calls whose cost is mostly decoding, with the decoder this process has (impl "sessionstore":
    orjson when installed; "sessionstore-json": SESSIONSTORE_JSON_DECODER=json)."""
    import sessionstore
    from sessionstore import _decode

    n = len(lines)
    raws = [x.encode() for x in lines]
    ids = [json.loads(x)["session_id"] for x in lines]
    users = sorted({json.loads(x)["user_id"] for x in lines})
    rnd = random.Random(3)
    d = _decode.DECODER
    store = sessionstore.Store()
    store.upsert_many_raw(b"[" + b",".join(raws) + b"]")
    emit(impl, "decode_1k", best_ns(_decode.loads, picks(rnd, raws, calls), rounds), n, results, decoder=d)
    emit(impl, "read_dict", best_ns(store.read, picks(rnd, ids, calls), rounds), n, results, decoder=d)
    ups = [json.loads(r) for r in picks(rnd, raws, calls // 2)]
    emit(impl, "upsert_dict_returned", best_ns(store.upsert, ups, rounds), n, results, decoder=d)
    us = picks(rnd, users, calls // 4)
    emit(impl, "get_recent_sessions_dict5", best_ns(lambda u: store.get_recent_sessions(u, None, 5), us, rounds), n,
         results, decoder=d)
    # One user's sessions (10 of them): an unfiltered query would mostly measure the library's count of
    # every session, not the decoding.
    emit(impl, "query_user_dict10", best_ns(lambda u: store.query(user_id=u, limit=20), picks(rnd, users, calls // 10),
                                            rounds), n, results, decoder=d)
    store.close()


def run_agno2(path: str, calls: int, rounds: int) -> None:
    """In the agno 2 virtualenv: InMemoryDb and SessionStoreDb, get_session/upsert_session, dicts."""
    from agno.db.base import SessionType
    from agno.db.in_memory import InMemoryDb
    from agno.session import AgentSession

    from sessionstore.agno import SessionStoreDb

    with open(path, encoding="utf-8") as f:
        dicts = [json.loads(x) for x in f if x.strip()]
    n = len(dicts)
    sessions = [AgentSession(session_id=d["session_id"], user_id=d["user_id"], agent_id=d["agent_id"],
                             session_data=d["session_data"], agent_data=d["agent_data"],
                             metadata={"memory": d["memory"]}, created_at=d["created_at"]) for d in dicts]
    rnd = random.Random(2)
    # InMemoryDb scans a list per call: fewer calls for it at 10k sessions.
    results: List[Dict[str, Any]] = []
    for impl, db, k in (("agno2", InMemoryDb(), max(50, calls // 200)), ("agno2-ours", SessionStoreDb(), calls)):
        for s in sessions:
            db.upsert_session(s, deserialize=False)
        ids = picks(rnd, [s.session_id for s in sessions], k)
        ups = picks(rnd, sessions, max(20, k // 2))
        emit(impl, "read", best_ns(lambda i: db.get_session(i, SessionType.AGENT, deserialize=False), ids, rounds), n, results)
        emit(impl, "upsert", best_ns(lambda s: db.upsert_session(s, deserialize=False), ups, rounds), n, results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--big", type=int, default=100_000, help="sessions for the listing comparison (0: skip)")
    ap.add_argument("--calls", type=int, default=20_000, help="calls per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--c-bench", help="the compiled bench/c_bench.c")
    ap.add_argument("--agno2-python", help="python of a virtualenv with agno 2 and sessionstore")
    ap.add_argument("--agno2-part", help=argparse.SUPPRESS)
    ap.add_argument("--json-part", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.agno2_part:
        run_agno2(a.agno2_part, a.calls, a.rounds)
        return
    if a.json_part:
        with open(a.json_part, encoding="utf-8") as f:
            run_decode_rows("sessionstore-json", [x for x in f.read().splitlines() if x.strip()], a.calls, a.rounds, [])
        return
    results: List[Dict[str, Any]] = []
    lines = gen_sessions(a.sessions)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sessions.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        if a.c_bench:
            out = subprocess.run([a.c_bench, path, str(a.calls * 5)], check=True, capture_output=True, text=True).stdout
            for line in out.splitlines():
                results.append(json.loads(line))
                print(line, flush=True)
        run_agno1_and_binding(lines, a.big, a.calls, a.rounds, results)
        # The decoding rows again with the standard json module, in a subprocess (the decoder is chosen at import).
        env = dict(os.environ, SESSIONSTORE_JSON_DECODER="json")
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--json-part", path, "--calls", str(a.calls),
                              "--rounds", str(a.rounds)], check=True, capture_output=True, text=True, env=env).stdout
        for line in out.splitlines():
            if line.startswith("{"):
                results.append(json.loads(line))
                print(line, flush=True)
        if a.agno2_python:
            env = dict(os.environ)
            env.pop("PYTHONPATH", None)
            out = subprocess.run([a.agno2_python, os.path.abspath(__file__), "--agno2-part", path, "--calls", str(a.calls),
                                  "--rounds", str(a.rounds)], check=True, capture_output=True, text=True, env=env).stdout
            for line in out.splitlines():
                if line.startswith("{"):
                    results.append(json.loads(line))
                    print(line, flush=True)
    summarize(results)


def summarize(results: List[Dict[str, Any]]) -> None:
    by = {(r["impl"] if r["lang"] != "c" else "c", r["op"], r["sessions"]): r["ns_per_op"] for r in results}

    def line(**kw: Any) -> None:
        print(json.dumps({"summary": True, **kw}), flush=True)

    for op in ("read", "upsert", "get_recent_sessions"):
        for k, v in by.items():
            if k[0] == "sessionstore" and k[1] == op and ("c", op, k[2]) in by:
                c = by[("c", op, k[2])]
                line(op=op, python_ns=v, c_ns=c, overhead_ns=round(v - c, 1), ratio=round(v / c, 2))
    for (impl, op, n), v in sorted(by.items()):
        if impl == "sessionstore-json" and ("sessionstore", op, n) in by:
            fast = by[("sessionstore", op, n)]
            dec = next((r.get("decoder") for r in results if r["impl"] == "sessionstore" and r["op"] == op), None)
            line(op=op, sessions=n, json_ns=v, default_ns=fast, default_decoder=dec, speedup=round(v / fast, 2))
    for theirs, ours in (("agno1", "agno1-ours"), ("agno2", "agno2-ours")):
        for (impl, op, n), v in sorted(by.items()):
            if impl == theirs and (ours, op, n) in by:
                line(op=op, sessions=n, agno=theirs, agno_ns=v, ours_ns=by[(ours, op, n)],
                     speedup=round(v / by[(ours, op, n)], 1))
    for op in ("read", "upsert"):
        for ref in ("agno1", "agno2"):
            k = (ref, op, 10_000)
            if k in by and ("sessionstore", op, 10_000) in by:
                line(op=op, binding_raw_ns=by[("sessionstore", op, 10_000)], agno=ref, agno_ns=by[k],
                     speedup=round(by[k] / by[("sessionstore", op, 10_000)], 1))


if __name__ == "__main__":
    main()
