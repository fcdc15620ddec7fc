#!/usr/bin/env python3
"""The one workload every row of the benchmark loads: deterministic, seeded, Agno-shaped sessions.

    python3 comparison/gen_sessions.py --sessions 10000 --size 1024 [--out target/bench-data]

writes target/bench-data/n10000-s1024/ (skipped when it already holds this generator version's output):

    sessions.jsonl   the store: one compact JSON session per line, created_at increasing with the line
    update.jsonl     new versions of random existing sessions (same id, user, agent, created_at, size class)
    insert.jsonl     sessions that are not in the store (new ids), for the insert operation
    read_ids.txt     random existing session ids, one per line, for read
    users.txt        random user ids, for get_recent_sessions(user_id, limit 5)
    entities.txt     agent ids, for get_all_session_ids(entity_id)
    queries.jsonl    query objects: session_name filter, sort by updated_at desc, a page of 20
    meta.json        counts, JSON bytes of the store, the generator version and seed

Sessions carry only the fields of agno 1.8.4's AgentSession (session_id, user_id, team_session_id,
workflow_session_id, memory, session_data, extra_data, created_at, updated_at, agent_id, agent_data), so that
every store, Agno's included, holds the same content. memory.runs holds runs of one user message and one
assistant reply, so messages alternate user/assistant. One user per 10 sessions (user = index mod N/10);
10 agents (drawn at random). Sizes land within about 15% of the requested size.

Only the standard library is used, and the random numbers come from splitmix64, so the output is the same
byte for byte on every machine and Python version.
"""

import argparse
import json
import os
import shutil
import sys

GEN_VERSION = 3
SEED = 0x5E55_1057
MASK = (1 << 64) - 1
BASE_TIME = 1_700_000_000
AGENTS = 10
SESSIONS_PER_USER = 10
PLAN = {"read": 20000, "users": 20000, "entities": 100, "queries": 64, "writes": 4000}

TOPICS = [
    "Trip to Rome", "Tax return questions", "Birthday party ideas", "Quarterly sales report",
    "Python debugging help", "Marathon training plan", "Recipe for ramen", "Job interview prep",
    "Apartment hunting", "Book club notes", "Garden planning", "Car insurance claim",
    "Wedding speech draft", "Kubernetes migration", "Learning Japanese", "Trip to Tokyo",
    "Weekly meal prep", "Podcast outline", "Budget spreadsheet", "Café opening checklist",
]
NEEDLES = ["trip", "plan", "report", "rome", "TOKYO", "recipe", "prep", "notes", "café", "budget",
           "help", "draft", "migration", "ideas", "claim", "zzz-no-match"]
WORDS = (
    "the a to of and in for on with that this is it be as at by from or an will can we you your our "
    "session agent model answer question plan trip budget flight hotel train ticket price cost total "
    "report sales quarter revenue growth customer product market team meeting schedule deadline review "
    "code function error stack trace test build deploy cluster node service request response latency "
    "recipe ingredient oven minutes salt pepper garlic onion broth noodle egg sauce serve bowl "
    "book chapter author theme character story ending library notes summary idea draft speech guest "
    "weather morning evening weekend monday friday city museum ticket station airport passport visa "
    "café naïve résumé Zürich 東京 données"
).split()
MODELS = [("gpt-4o", "OpenAI"), ("gpt-4o-mini", "OpenAI"), ("claude-3-5-sonnet", "Anthropic"),
          ("gemini-1.5-pro", "Google"), ("llama-3.1-70b", "Groq")]


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class Rng:
    """splitmix64: tiny, portable, good enough for a workload."""

    def __init__(self, *seed):
        s = SEED
        for part in seed:
            s = splitmix64(s ^ (part & MASK))
        self.state = s

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n

    def between(self, lo, hi):
        return lo + self.next() % (hi - lo + 1)


def build_corpus():
    rng = Rng(0xC0)
    words = []
    total = 0
    while total < 1 << 20:
        w = WORDS[rng.below(len(WORDS))]
        words.append(w)
        total += len(w) + 1
    text = " ".join(words)
    # Sentence-like punctuation, deterministic.
    return text.replace(" the ", ". The ").replace(" can ", ", can ")


CORPUS = build_corpus()


def text(rng, length):
    start = rng.below(len(CORPUS) - length - 1)
    return CORPUS[start:start + length].strip()


def uuid_of(index, variant=0):
    r = Rng(0x1D, index, variant)
    hi, lo = r.next(), r.next()
    h = f"{hi:016x}{lo:016x}"
    return f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[lo % 4]}{h[17:20]}-{h[20:32]}"


def user_of(index, n):
    return f"user-{index % max(1, n // SESSIONS_PER_USER):07d}"


def agent_of(index):
    return f"agent-{Rng(0xA6, index).below(AGENTS)}"


def created_of(index):
    return BASE_TIME + index * 7 + Rng(0xC7, index).below(7)


def session(index, n, size, variant=0):
    """Session `index` of a store of `n` sessions; `variant` > 0 gives a later version of it."""
    rng = Rng(0x5E, index, variant)
    sid = uuid_of(index)
    agent = agent_of(index)
    created = created_of(index)
    updated = created + 60 + rng.below(3600) + variant * 3600
    model, provider = MODELS[Rng(0x30, index).below(len(MODELS))]
    topic = TOPICS[Rng(0x70, index).below(len(TOPICS))]
    s = {
        "session_id": sid,
        "user_id": user_of(index, n),
        "agent_id": agent,
        "team_session_id": None,
        "workflow_session_id": None,
        "created_at": created,
        "updated_at": updated,
        "session_data": {
            "session_name": f"{topic} #{index % 1000}",
            "session_state": {"step": rng.below(10), "locale": "en-US"},
        },
        "agent_data": {
            "agent_id": agent,
            "name": f"Assistant {agent[-1]}",
            "model": {"id": model, "provider": provider},
        },
        "extra_data": None,
        "memory": {"runs": []},
    }
    runs = s["memory"]["runs"]
    # The size of this session: within 10% of `size`, the same for every version of the session.
    target = size * (90 + Rng(0x51, index).below(21)) // 100
    # A run's fixed part (ids, roles, keys, metrics) is about 260 bytes; the rest is message text.
    per_run_text = 200 if size <= 2048 else 1500
    t = created
    total = len(dumps(s).encode())
    r = 0
    while True:
        budget = min(per_run_text, target - total - 270)
        if budget < 40 and runs:
            break
        budget = max(40, budget)
        ulen = rng.between(budget // 5, budget // 3)
        t += rng.between(5, 90)
        run = {
            "run_id": uuid_of(index, 1 + r + 1000 * variant),
            "messages": [
                {"role": "user", "content": text(rng, ulen), "created_at": t},
                {"role": "assistant", "content": text(rng, budget - ulen), "created_at": t + rng.between(1, 20),
                 "metrics": {"input_tokens": rng.between(10, 4000), "output_tokens": rng.between(5, 900),
                             "time": rng.below(9000) / 1000}},
            ],
        }
        runs.append(run)
        total += len(dumps(run).encode()) + (1 if r else 0)
        r += 1
    # Fit the last reply so that the session lands on its target size (to a few bytes).
    last = runs[-1]["messages"][1]
    excess = total - target
    content = last["content"]
    if excess > 0:
        last["content"] = content[:max(10, len(content) - excess)]
    elif excess < 0:
        last["content"] = content + " " + text(rng, -excess - 1)
    return s


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


CHUNK = 5000


def _chunk(args):
    lo, hi, n, size = args
    lines = [dumps(session(i, n, size)).encode() for i in range(lo, hi)]
    return b"\n".join(lines) + b"\n", sum(len(line) for line in lines)


def generate(n, size, out_root, quiet=False):
    out = os.path.join(out_root, f"n{n}-s{size}")
    meta_path = os.path.join(out, "meta.json")
    if os.path.exists(meta_path):
        try:
            with open(meta_path) as f:
                meta = json.load(f)
            if meta.get("version") == GEN_VERSION and meta.get("sessions") == n and meta.get("size") == size:
                return out
        except (OSError, ValueError):
            pass
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    json_bytes = 0
    chunks = [(lo, min(n, lo + CHUNK), n, size) for lo in range(0, n, CHUNK)]
    with open(os.path.join(tmp, "sessions.jsonl"), "wb") as f:
        if len(chunks) > 1 and (os.cpu_count() or 1) > 1:
            import multiprocessing
            with multiprocessing.Pool(min(len(chunks), os.cpu_count() or 1)) as pool:
                parts = pool.imap(_chunk, chunks)
                for k, (data, nbytes) in enumerate(parts):
                    f.write(data)
                    json_bytes += nbytes
                    if not quiet and k % 20 == 19:
                        print(f"  generated {(k + 1) * CHUNK}/{n}", file=sys.stderr)
        else:
            for c in chunks:
                data, nbytes = _chunk(c)
                f.write(data)
                json_bytes += nbytes
    rng = Rng(0x9A, n, size)
    writes = PLAN["writes"] if size <= 2048 else PLAN["writes"] // 4
    with open(os.path.join(tmp, "update.jsonl"), "w", encoding="utf-8") as f:
        for j in range(writes):
            f.write(dumps(session(rng.below(n), n, size, variant=1 + j)) + "\n")
    with open(os.path.join(tmp, "insert.jsonl"), "w", encoding="utf-8") as f:
        for j in range(writes):
            f.write(dumps(session(n + j, n, size)) + "\n")
    with open(os.path.join(tmp, "read_ids.txt"), "w") as f:
        for _ in range(PLAN["read"]):
            f.write(uuid_of(rng.below(n)) + "\n")
    with open(os.path.join(tmp, "users.txt"), "w") as f:
        for _ in range(PLAN["users"]):
            f.write(user_of(rng.below(n), n) + "\n")
    with open(os.path.join(tmp, "entities.txt"), "w") as f:
        for _ in range(PLAN["entities"]):
            f.write(f"agent-{rng.below(AGENTS)}\n")
    with open(os.path.join(tmp, "queries.jsonl"), "w", encoding="utf-8") as f:
        for q in range(PLAN["queries"]):
            needle = NEEDLES[q % len(NEEDLES)]
            f.write(dumps({"session_name": needle, "sort_by": "updated_at", "sort_order": "desc",
                           "limit": 20, "offset": 0}) + "\n")
    meta = {"version": GEN_VERSION, "seed": SEED, "sessions": n, "size": size, "json_bytes": json_bytes,
            "users": max(1, n // SESSIONS_PER_USER), "agents": AGENTS, "writes": writes}
    with open(os.path.join(tmp, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, required=True)
    p.add_argument("--size", type=int, required=True, help="approximate bytes per session (1024, 16384)")
    p.add_argument("--out", default="target/bench-data")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args()
    print(generate(a.sessions, a.size, a.out, a.quiet))


if __name__ == "__main__":
    main()
