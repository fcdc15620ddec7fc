"""Several agents (threads) add their runs to ONE shared session at the same time, with no lock of their
own: Store.append_runs() appends atomically in the library, so every run lands, each agent's in its own
order. For contrast, the same work done with read + append + upsert loses runs whenever two agents
interleave, and the compare-and-set loop (upsert_if with the version read, retried on VersionMismatch)
loses none. Exits non-zero if a run was lost where it must not be.
Run: python examples/concurrent_append.py [agents] [runs per agent]"""

import sys
import threading
import time
from typing import Callable, List

from sessionstore import Store, VersionMismatch

AGENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 6
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 100


def run(agent: int, turn: int) -> dict:
    return {"run_id": f"agent{agent}-{turn}", "agent": agent, "turn": turn, "content": f"answer {turn} of agent {agent}"}


def in_threads(store: Store, work: Callable[[Store, int], None]) -> float:
    """Runs work(handle, agent) in one thread per agent, each on its own handle shared from store (a
    handle may also be shared by threads as is); all start together. Returns the wall time."""
    handles = [store.share() for _ in range(AGENTS)]
    start = threading.Barrier(AGENTS + 1)

    def agent_thread(i: int) -> None:
        start.wait()
        work(handles[i], i)

    threads = [threading.Thread(target=agent_thread, args=(i,)) for i in range(AGENTS)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    for h in handles:
        h.close()
    return elapsed


def lost_or_disordered(store: Store, session_id: str) -> List[str]:
    """What is wrong with the session's runs: missing ones, or an agent's runs out of its order."""
    session = store.read(session_id)
    runs = session["memory"]["runs"] if session else []
    problems = []
    if len(runs) != AGENTS * RUNS:
        problems.append(f"{AGENTS * RUNS - len(runs)} of {AGENTS * RUNS} runs lost")
    for a in range(AGENTS):
        turns = [r["turn"] for r in runs if r["agent"] == a]
        if turns != sorted(turns):
            problems.append(f"agent {a}'s runs out of order")
    return problems


def with_append(h: Store, agent: int) -> None:
    for turn in range(RUNS):
        # Only the new run is sent; the stored session is not copied back (return_stored=False).
        h.append_runs("chat", [run(agent, turn)], user_id="ava", return_stored=False)


def with_read_then_upsert(h: Store, agent: int) -> None:
    for turn in range(RUNS):
        session = h.read("naive")
        assert session is not None
        session["memory"]["runs"].append(run(agent, turn))
        h.upsert(session, return_stored=False)  # overwrites whatever another agent stored since the read


retries = [0]


def with_compare_and_set(h: Store, agent: int) -> None:
    for turn in range(RUNS):
        while True:
            session = h.read("cas")
            assert session is not None
            session["memory"]["runs"].append(run(agent, turn))
            try:
                h.upsert_if(session, session["version"], return_stored=False)
                break
            except VersionMismatch:  # another agent wrote first: read again and redo the change
                retries[0] += 1


with Store() as store:
    for sid in ("chat", "naive", "cas"):
        store.upsert({"session_id": sid, "user_id": "ava", "agent_id": "crew", "memory": {"runs": []}})

    elapsed = in_threads(store, with_append)
    chat = store.read("chat")
    assert chat is not None
    problems = lost_or_disordered(store, "chat")
    print(f"append_runs: {AGENTS} agents x {RUNS} runs -> {len(chat['memory']['runs'])} runs stored "
          f"in {elapsed * 1000:.1f} ms, version {chat['version']}; {'; '.join(problems) or 'none lost'}")

    in_threads(store, with_read_then_upsert)
    naive = lost_or_disordered(store, "naive")
    print(f"read + upsert (for contrast): {'; '.join(naive) or 'none lost this time (a matter of luck)'}")

    in_threads(store, with_compare_and_set)
    cas = lost_or_disordered(store, "cas")
    print(f"upsert_if retry loop: {retries[0]} retries; {'; '.join(cas) or 'none lost'}")

    if problems or cas:
        print("FAILED: runs were lost or disordered", file=sys.stderr)
        sys.exit(1)
print("ok: every run of every agent landed, in each agent's order")
