#!/usr/bin/env python3
"""Python binding benchmark, in two parts, every figure measured in this run.

    make bench   (or: python bench/bench.py --c-baseline target/python-build/baseline_main --agno2-python .../python)

1. The binding as a ratio to C. The C side is the repository's one C baseline (comparison/c/baseline.h), run
   as a separate process (comparison/c/baseline_main.c --serve, built by `make bench`) that holds its own
   store and times one round of C calls per command; this script alternates a round of each Python variant
   of an op with a round of C, REPS times (at least 5), and reports for every Python figure the
   min/median/max over the repetitions of (Python ns/op) / (C ns/op). JSON lines on stdout:
     {"lang":"python","info":true,"cpu":"AMD EPYC","loadavg_start":"...","loadavg_end":"...","reps":7,...}
     {"lang":"python","op":"read","ns_per_op":2504.3,"c_op":"read","c_ns_per_op":331.5,
      "ratio_min":7.1,"ratio_median":7.5,"ratio_max":8.2,"reps":7}
     {"lang":"c","op":"read","ns_per_op":331.5,"min_ns":318.0,"max_ns":350.2,"reps":7}
   ns_per_op is the median over the repetitions. ops: read (read_raw of a random existing id), upsert
   (upsert_raw of an existing session's bytes), get_recent_sessions (get_recent_sessions_raw(random user,
   None, 5)); the *_dict variants are the dict API (read, upsert(dict) returning the stored dict,
   get_recent_sessions; encoding and decoding included, with orjson in the bench's virtualenv) and are
   compared with the same C op. Workload and sequences: baseline.h's (10,000 agent sessions of 1 KiB; call
   k of a round uses entry k % 65536 of the xorshift64 sequences), rebuilt here and checked against the
   baseline's fingerprint. The cyclic garbage collector is off during a timed round. A summary goes to
   stderr.

2. Agno, on its own workload (generated Agno-shaped sessions of about 1 KiB, session_id first):
     sessionstore  the binding: ctypes_call_floor (ss_version), read_raw and upsert_raw, and the rows whose
                   cost is mostly decoding, with orjson (it is installed in the bench's virtualenvs)
     sessionstore-json  the same decoding rows with the standard json module (SESSIONSTORE_JSON_DECODER=json,
                   measured in a subprocess of this run): the decoder of an install without orjson
     agno1-ours    sessionstore.agno.SessionStoreStorage (returns agno 1 AgentSession objects)
     agno1         agno 1.8.4 InMemoryStorage (returns AgentSession objects; reads hand out live references)
     agno2-ours    sessionstore.agno.SessionStoreDb, get_session/upsert_session(deserialize=False) (dicts)
     agno2         agno 2 InMemoryDb, the same calls (dicts, deep copies)
   Lines {"lang":"python","impl":...,"op":...,"ns_per_op":...,"sessions":...}, then {"summary":true,...}
   lines with the speedups. Each figure is the best of several rounds (mean ns per call in a round).
   Listings (get_recent_sessions, user-filtered listings) are measured at --big sessions (default 100,000).

Environment: BENCH_REPS (default 7, at least 5) and BENCH_OPS (calls per read round of part 1, default
100000; upsert rounds make a quarter of that, get_recent_sessions rounds half), as --reps and --ops.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from typing import IO, Any, Callable, Dict, List, Optional, Sequence, Tuple

# --- part 1: the binding against the C baseline (comparison/c/baseline.h) --------------------------------------

# baseline.h's constants.
SSB_SESSIONS = 10000
SSB_USERS = SSB_SESSIONS // 10
SSB_AGENTS = 10
SSB_SESSION_BYTES = 1024
SSB_SEQ_LEN = 65536
SSB_RECENT_LIMIT = 5
SSB_SEED = 0x9E3779B97F4A7C15
SSB_MIN_REPS = 5
SSB_DEFAULT_REPS = 7
MASK64 = (1 << 64) - 1


class Workload:
    """baseline.h's workload, rebuilt: sessions s<i> of exactly 1 KiB of JSON, users u<i/10>, and the two
    index sequences of xorshift64 (shifts 13, 7, 17)."""

    def __init__(self) -> None:
        self.json: List[bytes] = []
        self.ids: List[str] = []
        for i in range(SSB_SESSIONS):
            head = (f'{{"session_id":"s{i}","user_id":"u{i // 10}","agent_id":"a{i % SSB_AGENTS}",'
                    f'"session_data":{{"session_name":"session {i}"}},"memory":{{"summary":"')
            tail = '"}}'
            text = (head + "m" * (SSB_SESSION_BYTES - len(head) - len(tail)) + tail).encode()
            if len(text) != SSB_SESSION_BYTES:
                raise AssertionError(f"session {i} has {len(text)} bytes")
            self.json.append(text)
            self.ids.append(f"s{i}")
        self.users = [f"u{u}" for u in range(SSB_USERS)]
        self.seq_session: List[int] = []
        self.seq_user: List[int] = []
        x = SSB_SEED
        for _ in range(SSB_SEQ_LEN):
            x ^= (x << 13) & MASK64
            x ^= x >> 7
            x ^= (x << 17) & MASK64
            self.seq_session.append(x % SSB_SESSIONS)
            self.seq_user.append((x >> 20) % SSB_USERS)

    def fingerprint(self) -> str:
        """ssb_fingerprint(): FNV-1a (32 bits) over each session's JSON + '\\n' + its id + '\\n', each user
        + '\\n', then the 4 little-endian bytes of seq_session[j] and of seq_user[j], for each j."""
        data = bytearray()
        for text, sid in zip(self.json, self.ids):
            data += text + b"\n" + sid.encode() + b"\n"
        for user in self.users:
            data += user.encode() + b"\n"
        for js, ju in zip(self.seq_session, self.seq_user):
            data += js.to_bytes(4, "little") + ju.to_bytes(4, "little")
        h = 0x811C9DC5
        for b in data:
            h = ((h ^ b) * 16777619) & 0xFFFFFFFF
        return f"{h:08x}"


class CBaseline:
    """comparison/c/baseline_main --serve: one timed round of C calls per command, one JSON line each."""

    def __init__(self, path: str) -> None:
        if not os.path.exists(path):
            raise SystemExit(f"bench.py: C baseline not found at {path}: run `make bench` (it builds it)")
        self.proc = subprocess.Popen([path, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.ready = self._next()

    def _next(self) -> Dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"C baseline exited with status {self.proc.wait()}")
        try:
            rec: Dict[str, Any] = json.loads(line)
        except ValueError:
            raise RuntimeError(f"C baseline printed {line!r}") from None
        if "error" in rec:
            raise RuntimeError(f"C baseline: {rec['error']}")
        return rec

    def round(self, op: str, ops: int) -> float:
        stdin: Optional[IO[str]] = self.proc.stdin
        assert stdin is not None
        stdin.write(f"{op} {ops}\n")
        stdin.flush()
        rec = self._next()
        if rec.get("op") != op:
            raise RuntimeError(f"C baseline answered {rec} to {op}")
        return float(rec["ns_per_op"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        code = self.proc.wait()
        if code != 0:
            raise RuntimeError(f"C baseline exited with status {code}")


def python_round(call: Callable[[Any], Any], args: Sequence[Any], ops: int) -> float:
    """ns per call of calls 0 .. ops-1, call k taking args[k % SSB_SEQ_LEN] (args holds one argument per
    entry of the sequence, so the loop indexes once where baseline.h's indexes twice)."""
    mask = SSB_SEQ_LEN - 1
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        for k in range(ops):
            call(args[k & mask])
        return (time.perf_counter_ns() - t0) / ops
    finally:
        gc.enable()


def spread(xs: Sequence[float]) -> Tuple[float, float, float]:
    """min, median (mean of the middle two for an even count) and max, as ssb_spread()."""
    s = sorted(xs)
    n = len(s)
    median = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return s[0], median, s[-1]


def cpu_model() -> str:
    """lscpu's "Model name", else /proc/cpuinfo's "model name", else platform.processor()."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, env=dict(os.environ, LC_ALL="C")).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def run_vs_c(baseline: str, reps: int, ops: int) -> None:
    import sessionstore
    from sessionstore import _decode

    load_start = loadavg()
    c = CBaseline(baseline)
    w = Workload()
    mine = w.fingerprint()
    if c.ready.get("fingerprint") != mine:
        c.close()
        raise SystemExit(f"bench.py: workload differs from comparison/c/baseline.h: fingerprint {mine}, "
                         f"C {c.ready.get('fingerprint')}")

    # The store: default config, the sessions upserted in order (as ssb_store_load()).
    store = sessionstore.Store()
    for text in w.json:
        store.upsert_raw(text, return_stored=False)
    if store.stats()["sessions"] != SSB_SESSIONS:
        raise SystemExit("bench.py: the store does not hold the workload")
    dicts = [json.loads(t) for t in w.json]
    # One argument per entry j of the sequences: call k of a round takes entry k % SSB_SEQ_LEN.
    read_args = [w.ids[i] for i in w.seq_session]
    upsert_args = [w.json[i] for i in w.seq_session]
    upsert_dict_args = [dicts[i] for i in w.seq_session]
    recent_args = [w.users[u] for u in w.seq_user]
    recent_raw, recent = store.get_recent_sessions_raw, store.get_recent_sessions
    calls: Dict[str, Tuple[Callable[[Any], Any], List[Any]]] = {
        "read": (store.read_raw, read_args),
        "read_dict": (store.read, read_args),
        "upsert": (store.upsert_raw, upsert_args),
        "upsert_dict": (store.upsert, upsert_dict_args),
        "get_recent_sessions": (lambda u: recent_raw(u, None, SSB_RECENT_LIMIT), recent_args),
        "get_recent_sessions_dict": (lambda u: recent(u, None, SSB_RECENT_LIMIT), recent_args),
    }
    # Each group: the C op, the Python variants compared with it, calls per round.
    groups = (
        ("read", ("read", "read_dict"), ops),
        ("upsert", ("upsert", "upsert_dict"), max(1, ops // 4)),
        ("get_recent_sessions", ("get_recent_sessions", "get_recent_sessions_dict"), max(1, ops // 2)),
    )
    out: List[Dict[str, Any]] = []
    summary: List[str] = []
    for c_op, variants, n in groups:
        # Warm-up (the caches, the allocator), then `reps` repetitions: each Python variant, then C.
        for v in variants:
            python_round(*calls[v], -(-n // 10))
        c.round(c_op, -(-n // 10))
        ns: Dict[str, List[float]] = {v: [] for v in variants}
        cns: List[float] = []
        for _ in range(reps):
            for v in variants:
                ns[v].append(python_round(*calls[v], n))
            cns.append(c.round(c_op, n))
        c_min, c_med, c_max = spread(cns)
        for v in variants:
            r_min, r_med, r_max = spread([x / y for x, y in zip(ns[v], cns)])
            med = spread(ns[v])[1]
            out.append({"lang": "python", "op": v, "ns_per_op": round(med, 1), "c_op": c_op,
                        "c_ns_per_op": round(c_med, 1), "ratio_min": round(r_min, 3),
                        "ratio_median": round(r_med, 3), "ratio_max": round(r_max, 3), "reps": reps})
            summary.append(f"# {v:<27} {med:9.1f} ns vs C {c_med:7.1f} ns: ratio {r_med:.2f} "
                           f"(min {r_min:.2f}, max {r_max:.2f})")
        out.append({"lang": "c", "op": c_op, "ns_per_op": round(c_med, 1), "min_ns": round(c_min, 1),
                    "max_ns": round(c_max, 1), "reps": reps})
    c.close()
    store.close()
    cpu = cpu_model()
    load_end = loadavg()
    print(dumps({"lang": "python", "info": True, "cpu": cpu, "loadavg_start": load_start, "loadavg_end": load_end,
                 "fingerprint": mine, "reps": reps, "ops": ops, "decoder": _decode.DECODER,
                 "python": platform.python_version(),
                 "order": "per repetition: each python variant, then c, for each op"}), flush=True)
    for rec in out:
        print(dumps(rec), flush=True)
    sys.stderr.write(f"# {cpu}; load average {load_start} at start, {load_end} at end; {reps} alternating "
                     f"repetitions\n" + "\n".join(summary) + "\n")
    sys.stderr.flush()


def dumps(rec: Dict[str, Any]) -> str:
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":"))


# --- part 2: Agno, on its own workload ----------------------------------------------------------------------------

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
    print(dumps(row), flush=True)


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
    rnd = random.Random(1)
    read_ids = picks(rnd, ids, calls)
    up_idx = picks(rnd, range(n), calls // 2)

    store = sessionstore.Store()
    store.upsert_many_raw(b"[" + b",".join(raws) + b"]")
    lib = store._lib  # the floor: a no-op-ish foreign call (ss_version) through the same ctypes path
    emit("sessionstore", "ctypes_call_floor", best_ns(lambda _: lib.version(), range(calls), rounds), n, results)
    # The raw calls on the Agno workload, for the binding-vs-Agno summary lines (against C: part 1).
    emit("sessionstore", "read", best_ns(store.read_raw, read_ids, rounds), n, results)
    up_raw = [raws[i] for i in up_idx]
    emit("sessionstore", "upsert", best_ns(store.upsert_raw, up_raw, rounds), n, results)
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


def env_int(name: str, default: int) -> int:
    try:
        v = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return v if v > 0 else default


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--c-baseline", default=os.path.join(here, "..", "..", "..", "target", "python-build", "baseline_main"),
                    help="comparison/c/baseline_main.c, compiled (make bench builds target/python-build/baseline_main)")
    ap.add_argument("--reps", type=int, default=env_int("BENCH_REPS", SSB_DEFAULT_REPS),
                    help=f"part 1: alternating repetitions (default $BENCH_REPS or 7, at least {SSB_MIN_REPS})")
    ap.add_argument("--ops", type=int, default=env_int("BENCH_OPS", 100_000),
                    help="part 1: calls per read round (default $BENCH_OPS or 100000; upsert a quarter, recent half)")
    ap.add_argument("--no-c", action="store_true", help="skip part 1 (the ratios to C)")
    ap.add_argument("--no-agno", action="store_true", help="skip part 2 (Agno and the decoders)")
    ap.add_argument("--sessions", type=int, default=10_000, help="part 2: sessions")
    ap.add_argument("--big", type=int, default=100_000, help="part 2: sessions for the listing comparison (0: skip)")
    ap.add_argument("--calls", type=int, default=20_000, help="part 2: calls per round")
    ap.add_argument("--rounds", type=int, default=5, help="part 2: rounds (the best is reported)")
    ap.add_argument("--agno2-python", help="part 2: python of a virtualenv with agno 2 and sessionstore")
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
    if not a.no_c:
        run_vs_c(a.c_baseline, max(SSB_MIN_REPS, a.reps), max(1, a.ops))
    if a.no_agno:
        return
    results: List[Dict[str, Any]] = []
    lines = gen_sessions(a.sessions)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sessions.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
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
    by = {(r["impl"], r["op"], r["sessions"]): r["ns_per_op"] for r in results}

    def line(**kw: Any) -> None:
        print(dumps({"summary": True, **kw}), flush=True)

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
