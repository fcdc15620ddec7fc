"""A mirror of a store kept up to date from its change feed: a directory with one JSON file per session
(named after its session_id), a file, feed.seq, remembering the number of the last change applied, and
next to it a file, feed.store, remembering the identity of the store that number belongs to.

- First start (no feed.seq or feed.store): Store.export_with_seq() gives every session and the number of
  the last change the export holds; the files are written, then feed.seq and feed.store (the store's
  identity, stats()["feed"]["store"]).
- Then, and after every restart: Store.changes(after=feed.seq) gives the changes since, in order; an
  upsert writes the session's file, a delete removes it (so do "expire" and "evict", the removals of a
  store with bounds), a drop removes every file of that session type.
  feed.seq is written after each page, so a restart goes on from there (a page applied again after a
  crash before feed.seq was written changes nothing: the same changes, in the same order).
- A mirror that fell behind the changes the feed keeps (feed_bytes) gets FeedTruncated: it starts again
  from an export, which also removes the files of sessions deleted meanwhile.
- Change numbers are a store's own, and start again from 1 in a store made anew (an in-memory store, or
  a durable store in another directory). Every page of changes carries the store's identity ("store"):
  when it is not the one in feed.store, the mirror starts again from an export too, even when the new
  store has gone past feed.seq and the numbers alone could not tell.

The script runs agents (threads) writing to an in-memory store while the mirror follows, stops the
mirror, writes more, restarts it (it continues from feed.seq); then the store is made anew (a new
in-memory store, numbered from 1 again, written until it is past feed.seq) and the restarted mirror must
notice the other identity and resynchronise from its export; then the mirror is stopped again while far
more is written than the feed keeps, and restarted (FeedTruncated: resynchronised from an export). After
each phase it checks that the directory equals a fresh export of the store it follows. Exits non-zero
otherwise. Last, a store with bounds (max_sessions, idle_expiry_s): its evictions and expiries are
changes of the feed ("evict", "expire") that the mirror applies as deletes.
Run: python examples/feed_mirror.py [directory]   (default: a temporary directory, removed at the end)"""

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from typing import Any, Dict, List, NoReturn
from urllib.parse import quote

from sessionstore import Change, FeedTruncated, Store

SEQ_FILE = "feed.seq"
STORE_FILE = "feed.store"


def _write_atomically(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Mirror:
    """Keeps `directory` equal to the store's sessions, from the feed. Knows nothing but the directory
    when it starts: a restart is a new Mirror on the same directory."""

    def __init__(self, store: Store, directory: str) -> None:
        self.store, self.dir = store, directory
        os.makedirs(directory, exist_ok=True)
        self.resyncs: List[str] = []  # why each resynchronisation happened
        self.applied: "Counter[str]" = Counter()  # changes applied, by op
        try:
            with open(os.path.join(directory, SEQ_FILE)) as f:
                self.seq = int(f.read())
            with open(os.path.join(directory, STORE_FILE)) as f:
                self.store_id = f.read().strip()
            print(f"  mirror: restarting from change {self.seq} of store {self.store_id} "
                  f"(remembered in {SEQ_FILE} and {STORE_FILE})")
        except FileNotFoundError:
            print("  mirror: first start, loading an export")
            self.resync("first start")

    def _file(self, session_id: str) -> str:
        return os.path.join(self.dir, quote(session_id, safe="") + ".json")  # any id makes a file name

    def _session_files(self) -> List[str]:
        return [os.path.join(self.dir, n) for n in os.listdir(self.dir) if n.endswith(".json")]

    def _remember(self, seq: int) -> None:
        _write_atomically(os.path.join(self.dir, SEQ_FILE), str(seq).encode())
        self.seq = seq

    def resync(self, why: str) -> None:
        """Every session from an export, the files of sessions no longer stored removed, then feed.seq,
        then feed.store. A crash before feed.store is written leaves the new number with the old identity
        (or, before feed.seq, the old number and identity), which the next start resynchronises again."""
        identity = self.store.stats()["feed"]["store"]  # a handle's store keeps one identity all its life
        sessions, seq = self.store.export_with_seq()
        keep = set()
        for sid, session in sessions.items():
            self._write(sid, session)
            keep.add(self._file(sid))
        for path in self._session_files():
            if path not in keep:
                os.remove(path)
        self._remember(seq)
        _write_atomically(os.path.join(self.dir, STORE_FILE), identity.encode())
        self.store_id = identity
        self.resyncs.append(why)

    def _write(self, session_id: str, session: Dict[str, Any]) -> None:
        _write_atomically(self._file(session_id), json.dumps(session, ensure_ascii=False).encode())

    def _apply(self, change: Change) -> None:
        self.applied[change["op"]] += 1
        if change["op"] == "upsert":
            self._write(change["session_id"], change["session"])
        elif change["op"] == "drop":  # every session of that type
            for path in self._session_files():
                with open(path, "rb") as f:
                    if json.loads(f.read()).get("session_type") == change["session_type"]:
                        os.remove(path)
        else:  # "delete", "expire" or "evict" (a store with bounds): the session is gone
            try:
                os.remove(self._file(change["session_id"]))
            except FileNotFoundError:
                pass

    def catch_up(self) -> int:
        """Applies every change after feed.seq; returns how many (a resynchronisation counts as 0)."""
        applied = 0
        while True:
            try:
                page = self.store.changes(self.seq, 1000)
            except FeedTruncated as e:
                # Fell behind what the feed keeps, or a store made anew has not reached feed.seq yet.
                now = self.store.stats()["feed"]["store"]
                why = "feed truncated" if now == self.store_id else "another store"
                print(f"  mirror: {why}: {e.message}")
                self.resync(why)
                continue
            if page["store"] != self.store_id:
                # Another store: its changes after feed.seq are not the ones the directory is missing.
                print(f"  mirror: another store: {page['store']}, not {self.store_id} (in {STORE_FILE})")
                self.resync("another store")
                continue
            if not page["changes"]:
                return applied
            for change in page["changes"]:
                self._apply(change)
            applied += len(page["changes"])
            self._remember(page["next"])


def directory_contents(directory: str) -> Dict[str, Dict[str, Any]]:
    out: Dict[str, Dict[str, Any]] = {}
    for name in os.listdir(directory):
        if name.endswith(".json"):
            with open(os.path.join(directory, name), "rb") as f:
                session = json.loads(f.read())
            out[session["session_id"]] = session
    return out


def check(store: Store, directory: str, phase: str) -> None:
    want, seq = store.export_with_seq()
    got = directory_contents(directory)
    if got != want:
        missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
        stale = sorted(k for k in set(got) & set(want) if got[k] != want[k])
        print(f"FAILED after {phase}: missing {missing[:5]}, extra {extra[:5]}, stale {stale[:5]}", file=sys.stderr)
        sys.exit(1)
    with open(os.path.join(directory, SEQ_FILE)) as f, open(os.path.join(directory, STORE_FILE)) as g:
        remembered = (int(f.read()), g.read())
    if remembered != (seq, store.stats()["feed"]["store"]):
        print(f"FAILED after {phase}: the directory remembers change {remembered[0]} of store {remembered[1]}, "
              f"the store is at {seq} and is {store.stats()['feed']['store']}", file=sys.stderr)
        sys.exit(1)
    print(f"  ok after {phase}: {len(got)} session files equal a fresh export (change {seq})")


def agents_write(store: Store, rounds: int, seed: int) -> None:
    """Three agents (threads), each on its own handle and session type, upsert, append, rename,
    delete and sometimes drop their sessions."""

    def agent(mode: str, k: int) -> None:
        with store.share(mode) as h:
            for i in range(rounds):
                sid = f"{mode}/{(i * 7 + seed) % 40}"
                step = (i + seed) % 10
                if step == 9 and i % 97 == 0:
                    h.drop()
                elif step == 8:
                    h.delete_session(sid)
                elif step in (6, 7) and h.exists(sid):
                    h.append_runs(sid, [{"run_id": f"{k}-{i}", "content": "é" * (i % 5)}], return_stored=False)
                elif step == 5 and h.exists(sid):
                    h.rename_session(sid, f"named {i}")
                else:
                    h.upsert({"session_id": sid, "user_id": "ava", "memory": {"runs": []}, "n": i}, return_stored=False)

    threads = [threading.Thread(target=agent, args=(m, k)) for k, m in enumerate(["agent", "team", "workflow"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def fail(message: str) -> NoReturn:
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


directory = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="sessionstore-mirror-")
temporary = len(sys.argv) <= 1
try:
    # A small feed (1 MiB, about 4,000 of these changes) so that the last phase falls behind it; the
    # default keeps 16 MiB.
    with Store(feed_bytes=1024 * 1024) as store:
        agents_write(store, 200, 1)  # sessions before the mirror exists: the first start exports them

        print(f"phase 1: first start of the mirror in {directory}, following while agents write")
        mirror = Mirror(store, directory)
        followed = [0]
        done = threading.Event()

        def follow() -> None:
            while not done.is_set():
                followed[0] += mirror.catch_up()

        follower = threading.Thread(target=follow)
        follower.start()
        agents_write(store, 600, 2)
        done.set()
        follower.join()
        followed[0] += mirror.catch_up()
        print(f"  mirror: {followed[0]} changes applied while following")
        check(store, directory, "phase 1")
        del mirror  # the mirror stops; its directory remains

        print("phase 2: the mirror is down while agents write; it restarts and continues from feed.seq")
        agents_write(store, 200, 3)
        mirror = Mirror(store, directory)
        applied = mirror.catch_up()
        print(f"  mirror: {applied} changes applied after the restart, {len(mirror.resyncs)} resynchronisations")
        if applied == 0 or mirror.resyncs:
            fail("the restarted mirror did not continue from feed.seq")
        check(store, directory, "phase 2")
        remembered = mirror.seq
        del mirror

    # The store is made anew (its process restarted, in memory): numbered from 1 again. Written until it is
    # past the number the mirror remembers, so that changes(feed.seq) succeeds: only the identity tells.
    with Store(feed_bytes=1024 * 1024) as store:
        print("phase 3: the store is made anew; the restarted mirror notices the other identity")
        r = 0
        while store.stats()["feed"]["latest"] <= remembered + 10:
            agents_write(store, 200, 20 + r)
            r += 1
        feed = store.stats()["feed"]
        print(f"  the new store {feed['store']} is at change {feed['latest']}, past the remembered {remembered}; "
              f"its feed keeps changes {feed['oldest']} to {feed['latest']}")
        if feed["oldest"] > remembered:
            fail("the new store's feed should still hold the changes after the remembered number")
        mirror = Mirror(store, directory)
        mirror.catch_up()
        print(f"  mirror: resynchronised {len(mirror.resyncs)} time(s) ({', '.join(mirror.resyncs)})")
        if mirror.resyncs != ["another store"]:
            fail("the mirror should have seen another store's identity and resynchronised")
        check(store, directory, "phase 3")
        del mirror

        print("phase 4: down while more is written than the feed keeps; the restart resynchronises")
        for r in range(12):
            agents_write(store, 600, 4 + r)
        feed = store.stats()["feed"]
        print(f"  feed keeps changes {feed['oldest']} to {feed['latest']} ({feed['bytes']} of {feed['budget']} bytes)")
        mirror = Mirror(store, directory)
        mirror.catch_up()
        if mirror.resyncs != ["feed truncated"]:
            fail("the mirror should have been told FeedTruncated and resynchronised")
        check(store, directory, "phase 4")
        del mirror

    # A store with bounds, made anew again. Evictions happen inside the writes that need the room, and
    # are changes of the feed ("evict"). An expired session is gone for reads, listings and exports at
    # once, but the feed says "expire" only when the library reclaims it (within about a second): until
    # then a mirror still holds it, so this phase waits for the reclaimer before comparing.
    with Store(max_sessions=50, idle_expiry_s=3600) as store:
        print("phase 5: a store with bounds (max_sessions=50, idle_expiry_s=3600): evictions and expiries")
        mirror = Mirror(store, directory)
        mirror.catch_up()
        if mirror.resyncs != ["another store"]:
            fail("the mirror should have seen another store's identity and resynchronised")
        old = {f"agent/old-{i}": {"session_id": f"agent/old-{i}", "updated_at": 1000} for i in range(5)}
        store.import_(old)  # last written in 1970: expired as soon as imported (the feed has their upserts)
        deadline = time.time() + 10
        while store.stats()["bounds"]["expired"] < len(old) and time.time() < deadline:
            time.sleep(0.05)
        agents_write(store, 300, 30)  # 120 ids over three types: sessions are evicted to keep 50
        mirror.catch_up()
        bounds = store.stats()["bounds"]
        print(f"  store: {bounds['sessions']} sessions held, {bounds['evicted']} evicted, {bounds['expired']} expired; "
              f"mirror applied {dict(mirror.applied)}")
        if mirror.applied["evict"] == 0 or mirror.applied["expire"] != len(old) or bounds["sessions"] > 50:
            fail("the mirror should have applied evictions and the imported sessions' expiry")
        check(store, directory, "phase 5")
finally:
    if temporary:
        shutil.rmtree(directory, ignore_errors=True)
print("ok: the mirror matched the store after its first start, a restart, a store made anew, a resynchronisation "
      "and the evictions and expiries of a store with bounds")
