"""Bounded memory: a store that forgets idle sessions and keeps to a size.

1. Idle expiry: a store opened with idle_expiry_s=1 holds a session written now for about a second;
   read at once it is there, read again 2.2 s later it is gone (read() returns None, listings and exports
   leave it out), and once the library's reclaimer has run the change feed says "expire".
2. Eviction: a store opened with max_sessions=3 keeps the three most recently written sessions: writing
   a, b, c, writing a again, then d evicts b (the least recently written), and the feed says "evict".
3. Refusal: with when_full="refuse" and user_max_sessions=1, a user's second session raises Full and
   nothing changes; another user's session still fits.

stats()["bounds"] is printed after each part. Exits non-zero when a check fails.
Run: python examples/bounded_memory.py"""

import json
import sys
import time
from typing import List, NoReturn

from sessionstore import Full, Store


def fail(message: str) -> NoReturn:
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def feed_ops(store: Store) -> List[str]:
    """The feed so far as "op id" strings (ids_only: the sessions themselves left out)."""
    return [f"{c['op']} {c.get('session_id', '')}".strip() for c in store.changes(0, ids_only=True)["changes"]]


print("1. idle expiry: Store(idle_expiry_s=1)")
with Store(idle_expiry_s=1) as store:
    # The store's clock is in whole seconds (updated_at): a session written at second T with
    # idle_expiry_s=1 expires when the clock reads T + 1, which can be a moment later. Start just after
    # a second begins so that the first read falls in the same second as the write.
    time.sleep(1.02 - time.time() % 1)
    stored = store.upsert({"session_id": "chat", "user_id": "ava", "memory": {"runs": [{"run_id": "r1"}]}})
    first = store.read("chat")
    print(f"  written at updated_at={stored['updated_at']}; read at once: {'found' if first else 'not found'}")
    if first is None:
        fail("the session should be there right after the write")
    time.sleep(2.2)
    second = store.read("chat")
    print(f"  read again 2.2 s later: {'found' if second else 'not found (expired)'}; "
          f"listed: {store.get_all_session_ids()}, exported: {list(store.export())}")
    if second is not None or store.get_all_session_ids() or store.export():
        fail("the idle session should have expired")
    # Gone at once for every call; its memory is reclaimed within about a second, and the feed then
    # says "expire". Wait for it (the example may wait; the binding's tests do not).
    deadline = time.time() + 5
    while store.stats()["bounds"]["expired"] < 1 and time.time() < deadline:
        time.sleep(0.05)
    bounds = store.stats()["bounds"]
    print(f"  feed: {feed_ops(store)}")
    print(f"  stats()['bounds']: {json.dumps(bounds)}")
    if bounds["expired"] != 1 or bounds["sessions"] != 0 or feed_ops(store) != ["upsert chat", "expire chat"]:
        fail("the reclaimer should have removed the expired session and said so in the feed")

print("2. eviction: Store(max_sessions=3)")
with Store(max_sessions=3) as store:
    for sid in ["a", "b", "c", "a", "d"]:  # rewriting a makes b the least recently written
        store.upsert({"session_id": sid}, return_stored=False)
        print(f"  wrote {sid}: held {store.get_all_session_ids()}")
    bounds = store.stats()["bounds"]
    print(f"  feed: {feed_ops(store)}")
    print(f"  stats()['bounds']: {json.dumps(bounds)}")
    if store.get_all_session_ids() != ["a", "c", "d"] or "evict b" not in feed_ops(store) or bounds["evicted"] != 1:
        fail("b, the least recently written, should have been evicted")

print('3. refusal: Store(user_max_sessions=1, when_full="refuse")')
with Store(user_max_sessions=1, when_full="refuse") as store:
    store.upsert({"session_id": "ava-1", "user_id": "ava"})
    try:
        store.upsert({"session_id": "ava-2", "user_id": "ava"})
        fail("ava's second session should have been refused")
    except Full as e:
        print(f"  ava's second session: Full (status {e.status}, {e.code}): {e.message}")
    store.upsert({"session_id": "bob-1", "user_id": "bob"})
    print(f"  bob's first session fits: held {store.get_all_session_ids()}")
    if store.get_all_session_ids() != ["ava-1", "bob-1"]:
        fail("the refused write should have changed nothing, and bob's session should fit")
    print(f"  stats()['bounds']: {json.dumps(store.stats()['bounds'])}")

print("ok: an idle session expired, the least recently written session was evicted, a user over quota was refused")
