#!/usr/bin/env python3
"""The "agno" row: agno 1.8.4's InMemoryStorage (the store sessionstore replaces), on the same workload.

Runs inside the benchmark's virtualenv (target/bench-venv, see comparison/requirements.txt):

    target/bench-venv/bin/python comparison/agno_driver.py --data target/bench-data/n10000-s1024 [--ops ...]

Each call is Agno's public API as an Agno user would make it:
    read     storage.read(session_id)                       -> AgentSession
    recent   storage.get_recent_sessions(user_id=u, limit=5)
    ids      storage.get_all_session_ids(entity_id=agent)
    query    Agno 1.x has no query: storage.get_all_sessions(), then filter on the name (case-insensitive
             substring), sort by updated_at descending and slice a page of 20 in Python
    update / insert   storage.upsert(session) with the AgentSession objects built before timing (Agno
             takes objects, so no JSON parsing is charged to it)
    export   json.dumps(storage.storage)  (the storage_dict, Agno's way to persist the store)
    import   InMemoryStorage(storage_dict=json.loads(text))
Prints the JSON lines of comparison/run.py's protocol. Timing: time.perf_counter_ns around each call, minus the
timer's own median cost.
"""

import argparse
import gc
import json
import os
import signal
import sys
import time


def status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


class Bench:
    def __init__(self, row, n, size, time_cap, max_samples, big_samples):
        self.row, self.n, self.size = row, n, size
        self.time_cap, self.max_samples, self.big_samples = time_cap, max_samples, big_samples
        clock = time.perf_counter_ns
        d = []
        for _ in range(2001):
            a = clock()
            b = clock()
            d.append(b - a)
        d.sort()
        self.timer_ns = float(d[len(d) // 2])

    def run(self, op, fn, max_calls=None, warmup=0, extra=None, keep=False):
        """Times fn(i); with keep=True its result is dropped after the time is taken."""
        clock = time.perf_counter_ns
        cap = self.max_samples if max_calls is None else min(max_calls, self.max_samples)
        cap = max(1, cap)
        for i in range(min(warmup, cap)):
            fn(i)
        samples = []
        start = clock()
        limit = self.time_cap * 1e9
        for i in range(cap):
            a = clock()
            out = fn(i)
            b = clock()
            if keep:
                del out
            samples.append(max(0.0, (b - a) - self.timer_ns))
            if b - start > limit:
                break
        self.emit(op, samples, extra)

    def emit(self, op, samples, extra=None):
        samples.sort()
        n = len(samples)

        def pct(p):
            rank = min(n, max(1, int(-(-p * n // 1))))
            return samples[rank - 1]

        rec = {"row": self.row, "n": self.n, "size": self.size, "op": op, "median_ns": pct(0.5),
               "p99_ns": pct(0.99), "mean_ns": sum(samples) / n, "samples": n, "timer_ns": self.timer_ns}
        rec.update(extra or {})
        print(json.dumps(rec), flush=True)


class Deadline(Exception):
    pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--ops", default="read,recent,ids,query,update,insert,export,import")
    p.add_argument("--row", default="agno")
    p.add_argument("--time-cap", type=float, default=1.0)
    p.add_argument("--max-samples", type=int, default=20000)
    p.add_argument("--big-samples", type=int, default=5)
    p.add_argument("--deadline", type=float, default=0)
    a = p.parse_args()
    ops = a.ops.split(",")

    from agno.storage.in_memory import InMemoryStorage
    from agno.storage.session.agent import AgentSession

    with open(os.path.join(a.data, "meta.json")) as f:
        meta = json.load(f)
    read_ids = lines(os.path.join(a.data, "read_ids.txt"))
    users = lines(os.path.join(a.data, "users.txt"))
    entities = lines(os.path.join(a.data, "entities.txt"))
    queries = [json.loads(q) for q in lines(os.path.join(a.data, "queries.jsonl"))]
    updates = [AgentSession.from_dict(json.loads(x)) for x in lines(os.path.join(a.data, "update.jsonl"))]
    inserts = [AgentSession.from_dict(json.loads(x)) for x in lines(os.path.join(a.data, "insert.jsonl"))]
    bench = Bench(a.row, meta["sessions"], meta["size"], a.time_cap, a.max_samples, a.big_samples)

    gc.collect()
    base = status_kb("VmRSS:")
    t0 = time.perf_counter()
    storage = InMemoryStorage(mode="agent")
    json_bytes = 0
    loaded = 0
    with open(os.path.join(a.data, "sessions.jsonl"), "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            if not line:
                continue
            json_bytes += len(line)
            loaded += 1
            storage.upsert(AgentSession.from_dict(json.loads(line)))
    load_s = time.perf_counter() - t0
    gc.collect()
    rss, hwm = status_kb("VmRSS:"), status_kb("VmHWM:")
    print(json.dumps({"row": a.row, "n": meta["sessions"], "size": meta["size"], "op": "memory",
                      "sessions": loaded, "json_bytes": json_bytes, "base_rss": base * 1024,
                      "rss_growth": (rss - base) * 1024, "peak_growth": (hwm - base) * 1024,
                      "load_s": round(load_s, 3)}), flush=True)

    def query(q):
        needle = (q.get("session_name") or "").lower()
        hits = []
        for s in storage.get_all_sessions():
            name = (s.session_data or {}).get("session_name")
            if name is not None and needle in name.lower():
                hits.append(s)
        hits.sort(key=lambda s: s.updated_at or 0, reverse=True)
        offset = q.get("offset") or 0
        limit = q.get("limit")
        page = hits[offset:] if limit is None else hits[offset:offset + limit]
        return {"sessions": page, "total": len(hits)}

    def deadline_hit(signum, frame):
        raise Deadline()

    signal.signal(signal.SIGALRM, deadline_hit)
    exported = None
    for op in ops:
        if op == "read":
            check = int(storage.read(read_ids[0]) is not None)
            bench.run("read", lambda i: storage.read(read_ids[i % len(read_ids)]), warmup=200,
                      extra={"check": check})
        elif op == "recent":
            check = len(storage.get_recent_sessions(user_id=users[0], limit=5))
            bench.run("recent", lambda i: storage.get_recent_sessions(user_id=users[i % len(users)], limit=5),
                      warmup=2, extra={"check": check})
        elif op == "ids":
            check = len(storage.get_all_session_ids(entity_id=entities[0]))
            bench.run("ids", lambda i: storage.get_all_session_ids(entity_id=entities[i % len(entities)]),
                      warmup=1, extra={"check": check})
        elif op == "query":
            check = query(queries[0])["total"]
            bench.run("query", lambda i: query(queries[i % len(queries)]), warmup=0, extra={"check": check})
        elif op == "update":
            bench.run("update", lambda i: storage.upsert(updates[i % len(updates)]))
        elif op == "insert":
            bench.run("insert", lambda i: storage.upsert(inserts[i]), max_calls=len(inserts))
        elif op in ("export", "import"):
            try:
                signal.alarm(int(a.deadline + 0.5) if a.deadline > 0 else 0)
                if exported is None:
                    exported = json.dumps(storage.storage)
                if op == "export":
                    bench.run("export", lambda i: json.dumps(storage.storage), max_calls=a.big_samples,
                              extra={"bytes": len(exported.encode())}, keep=True)
                else:
                    bench.run("import", lambda i: InMemoryStorage(mode="agent", storage_dict=json.loads(exported)),
                              max_calls=a.big_samples, extra={"bytes": len(exported.encode())}, keep=True)
                signal.alarm(0)
            except Deadline:
                print(json.dumps({"row": a.row, "n": meta["sessions"], "size": meta["size"], "op": op,
                                  "timeout_s": a.deadline}), flush=True)
                return
        elif op:
            sys.exit(f"unknown op {op}")


if __name__ == "__main__":
    main()
