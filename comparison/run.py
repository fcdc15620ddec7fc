#!/usr/bin/env python3
"""Runs the benchmark: every row on the same generated workload, in one run on one machine.

    python3 comparison/run.py --full  --out docs               # what `make bench` runs
    python3 comparison/run.py --smoke --out target/bench-smoke # what `make bench-smoke` runs (1k sessions)

Rows (--rows, comma-separated; default: all for --full, and for --smoke SMOKE_ROWS below: floor, rust, paired,
c, mixed, versions, bounds, durable, and ss-redis when redis-server is installed):
    floor      target/bench-bin/ss-bench-rust --row floor   the least any in-process store must do
    rust       target/bench-bin/ss-bench-rust --row rust    the engine through its Rust API
    paired     target/bench-bin/ss-bench-rust --row paired  both in one process, batches of calls alternating:
               the engine's ratio to the floor per round (read, recent, ids, query, update)
    c          target/bench-bin/ss_driver                   the engine through the C ABI
    redis      target/bench-bin/redis_driver                Redis 7 on loopback (started and stopped here)
    ss-redis   target/bench-bin/ss_driver --row ss-redis    sessionstore's Redis backend through the C ABI, on a
               redis-server started, pinned and stopped like the redis row's (memory: that server's RSS growth);
               only on 1 KiB stores of up to 100k sessions (not run above 100k: it loads one upsert per round
               trip, and its queries and exports read the whole namespace on every call), so that the report
               sets each of its operations against the redis row's of the same run as a ratio
    agno       target/bench-venv/bin/python comparison/agno_driver.py   agno 1.8.4 InMemoryStorage
    bindings   `make -C bindings/<lang> bench` for cpp, go, node, python, when that target exists: each binding
               against the one C baseline (comparison/c/baseline.h) in the same run, as ratios; Python's
               also against agno 1.8.4 InMemoryStorage and agno 2 InMemoryDb on Agno's workload
    criterion  `cargo bench --bench engine` (benches/engine.rs)
    mixed      target/bench-bin/ss-mixed-load: writer latency while a name query and an export run in a
               loop (1 KiB stores; every condition against the no-reader run of the same process)
    versions   target/bench-bin/ss-versions: compare-and-set against a plain upsert, one run appended against
               the whole session upserted with it, and the change feed read while a writer runs (100k
               sessions of 1 and 16 KiB)
    bounds     target/bench-bin/ss-bounds: read and update with expiry and capacity bounds configured but not
               reached, and with a per-user quota as well, against an unbounded store, inserts that each evict
               against inserts below the bound, and the longest read while every session of the store expires
               at once and is reclaimed (100k and 1M 1 KiB sessions)
    durable    target/bench-bin/ss-durable: upsert per sync policy against in-memory, group commit, reopen
               and file sizes after compaction, writer latency during snapshots (1 KiB stores); then
               target/bench-bin/ss-durable-peers on the same data and disk: Redis with appendonly yes
               (appendfsync always and everysec; a redis-server started and stopped here) and SQLite in
               WAL mode (synchronous FULL and NORMAL), 1 and 8 writers each

Each driver prints JSON lines (one per operation: median_ns, p99_ns, samples, ...; one "memory" line;
"timeout_s" when an export or import call outran --deadline). This script collects them into
<out-of-tree>/results.jsonl, then writes <out>/bench.md (comparison/report.py) and <out>/bench.png
(comparison/plot.py, with the virtualenv's matplotlib). A row that is missing or fails is reported as "n/a"
with the reason; it never stops the run. In --smoke mode, a failing row or rows that disagree on the
results of the same query make the exit status non-zero (the smoke test is part of `make test`); the smoke
run also checks the bindings' C baseline program (target/bench-bin/baseline_main) with a few short rounds.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "comparison"))
import gen_sessions  # noqa: E402

BIN = os.path.join(ROOT, "target", "bench-bin")
VENV_PY = os.path.join(ROOT, "target", "bench-venv", "bin", "python")
FULL_SIZES = [(10_000, 1024), (10_000, 16384), (100_000, 1024), (100_000, 16384), (1_000_000, 1024)]
SMOKE_SIZES = [(1000, 1024)]
ALL_ROWS = ["floor", "rust", "paired", "c", "redis", "ss-redis", "agno", "bindings", "criterion", "mixed",
            "versions", "bounds", "durable"]
# ss-redis takes about a second on the smoke size; without redis-server it is n/a, which a smoke run
# accepts (`make test` installs redis-server for the Redis backend's own tests anyway).
SMOKE_ROWS = ["floor", "rust", "paired", "c", "ss-redis", "mixed", "versions", "bounds", "durable"]
# The largest store ss-redis runs on, and the one session size it runs with.
SS_REDIS_MAX, SS_REDIS_SIZE = 100_000, 1024
CHECKED_OPS = ("recent", "ids", "query")


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return ""


def conditions():
    cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -n1")
    mem = sh("free -g | awk '/^Mem:/ {print $2}'")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem,
        "kernel": platform.release(),
        "loadavg": open("/proc/loadavg").read().split()[:3],
        "commit": sh(f"git -C {ROOT} rev-parse --short HEAD") + (" (with uncommitted changes)" if sh(f"git -C {ROOT} status --porcelain") else ""),
        "rustc": sh("rustc --version"),
        "cc": sh("cc --version | head -n1"),
        "python": platform.python_version(),
        "redis": sh("redis-server --version"),
        "hiredis": sh("dpkg-query -W -f='${Version}' libhiredis-dev 2>/dev/null"),
        "agno": sh(f"{VENV_PY} -c 'import importlib.metadata as m; print(m.version(\"agno\"))' 2>/dev/null") if os.path.exists(VENV_PY) else "",
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# redis-server and its client both run on CPU 0 when taskset exists: on this kind of VM a round trip
# between two vCPUs pays for waking the idle one (measured: ~40 µs instead of ~17 µs per GET), an
# artifact that would flatter the in-process rows. One CPU gives Redis its best loopback latency.
PIN = ["taskset", "-c", "0"] if shutil.which("taskset") else []


try:
    import ctypes
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except Exception:  # not Linux, or no libc to load: stop() and the `finally` clauses remain
    _PRCTL = None


def die_with_parent():
    """preexec_fn of a redis-server: the kernel sends it SIGTERM when this script dies, however it dies
    (even killed), so that no server outlives a run; stop() is the normal way."""
    if _PRCTL:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG, kept across taskset's exec of redis-server


class Redis:
    """A redis-server of our own on a free loopback port; stopped by stop(). No persistence, or with
    appendfsync ("always", "everysec"): `appendonly yes` with that policy, its files in workdir (emptied
    first; put it on the disk being measured), no RDB snapshots, the rest Redis's defaults (automatic AOF
    rewrites included)."""

    def __init__(self, workdir, appendfsync=None):
        self.dir = workdir
        if appendfsync:
            shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        persistence = (["--appendonly", "yes", "--appendfsync", appendfsync] if appendfsync
                       else ["--appendonly", "no"])
        self.proc = subprocess.Popen(
            PIN + ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--protected-mode", "yes",
             "--save", ""] + persistence + ["--daemonize", "no", "--dir", workdir,
             "--logfile", os.path.join(workdir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
        deadline = time.time() + 10
        while time.time() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_redis(workdir, tries=3):
    """Redis(workdir), tried again on another free port when the server does not start (another process
    may take the port between free_port() and the server's bind)."""
    for attempt in range(tries):
        try:
            return Redis(workdir)
        except RuntimeError:
            if attempt == tries - 1:
                raise
            log(f"  redis-server did not start on a free port; trying another ({attempt + 2} of {tries})")


def ss_redis_cmd(data, n, size, deadline, common):
    """The ss-redis row's driver command (without the server's port and pid, known once it runs) and None,
    or None and why it is not run; the third value is True when it is skipped on purpose (not a failure)."""
    if size != SS_REDIS_SIZE:
        return None, f"not run on {size // 1024} KiB sessions (1 KiB stores of up to 100k sessions only)", True
    if n > SS_REDIS_MAX:
        return None, (f"not run above {SS_REDIS_MAX // 1000}k sessions: it loads one upsert per round trip, "
                      "and its queries and exports read the whole namespace on every call"), True
    if not shutil.which("redis-server"):
        return None, "redis-server is missing (make bench-deps)", True
    cmd, why = bench_bin("ss_driver", "--row", "ss-redis", "--data", data, "--deadline", str(deadline), *common)
    return (PIN + cmd if cmd else None), why, False


def durable_peers(data, n, size, work, secs, timeout):
    """The durable row's "what users would pick instead" (target/bench-bin/ss-durable-peers), right after
    ss-durable on the same data and disk: its Redis part against a redis-server with appendonly yes that
    is started here (files in the run's work dir, beside ss-durable's store), both pinned like the redis
    row; then its SQLite part, unpinned like ss-durable. Without redis-server, the Redis part is an error
    record and the SQLite part still runs. Returns the records."""
    exe = os.path.join(BIN, "ss-durable-peers")

    def failed(store, why):
        return {"row": "durable", "case": "peer", "store": store, "n": n, "size": size, "error": why}

    if not os.path.exists(exe):
        return [failed("peers", "target/bench-bin/ss-durable-peers is not built (make bench-build)")]
    out, parts = [], ["sqlite"]
    if shutil.which("redis-server"):
        parts.insert(0, "redis")
    else:
        out.append(failed("redis", "redis-server is missing (make bench-deps)"))
        log("  durable peers: redis n/a (redis-server is missing)")
    for part in parts:
        cmd = [exe, "--data", data, "--dir", os.path.join(work, "durable-peers"), "--secs", secs,
               "--threads", "8", "--only", part]
        t, redis, err = time.time(), None, None
        try:
            if part == "redis":
                redis = Redis(os.path.join(work, "durable-redis"), appendfsync="always")
                cmd = PIN + cmd + ["--redis-port", str(redis.port)]
            recs, err = run_driver(cmd, timeout)
        except Exception as e:  # a row must never stop the run
            recs, err = [], str(e)
        finally:
            if redis:
                redis.stop()
                if not err:  # the append-only file of a large store is large; kept when something failed
                    shutil.rmtree(redis.dir, ignore_errors=True)
        out.extend(recs)
        if err and not any("error" in r for r in recs):
            out.append(failed(part, err))
        log(f"  durable peers ({part}): {len(recs)} records in {time.time() - t:.1f} s" + (f"; error: {err}" if err else ""))
    return out


def run_driver(cmd, timeout, env=None):
    """Runs one driver; returns (records, error). Lines printed before a failure are kept."""
    records, err = [], None
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
        out, stderr, code = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        stderr, code = f"timed out after {timeout} s", None
    except OSError as e:
        return [], str(e)
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                pass
    if code != 0:
        tail = (stderr or "").strip().splitlines()[-3:]
        err = f"exit status {code}: " + " | ".join(tail) if code is not None else stderr
    return records, err


def bench_bin(name, *args):
    """The command running target/bench-bin/<name> with `args`, and None, or None and why it cannot run."""
    exe = os.path.join(BIN, name)
    if not os.path.exists(exe):
        return None, f"target/bench-bin/{name} is not built (make bench-build)"
    return [exe, *args], None


def binding_has_bench(lang):
    mk = os.path.join(ROOT, "bindings", lang, "Makefile")
    if not os.path.exists(mk):
        return False
    with open(mk) as f:
        return any(re.match(r"^bench\s*:", line) for line in f)


def run_bindings(timeout):
    """The bindings' own benchmarks, each against the one C baseline (comparison/c/baseline.h) in the same run:
    {"lang":..., "op":..., "ns_per_op":..., "c_op":..., "ratio_min"/"ratio_median"/"ratio_max":..., "reps":...}
    lines for the binding, {"lang":"c", ...} lines for C, and one {"lang":..., "info":true, "cpu":...} line."""
    out = []
    for lang in ("cpp", "go", "node", "python"):
        row = {"cpp": "c++"}.get(lang, lang)
        if not binding_has_bench(lang):
            out.append({"row": row, "src": "binding", "error": f"bindings/{lang}/Makefile has no bench target"})
            continue
        log(f"bindings/{lang}: make bench")
        recs, err = run_driver(["make", "--no-print-directory", "-C", f"bindings/{lang}", "bench"], timeout)
        # Python's bench also compares the binding with Agno on Agno's workload ("impl" lines, "summary" lines).
        agno = [r for r in recs if lang == "python" and ("impl" in r or r.get("summary"))]
        lines = [r for r in recs if "lang" in r and "op" in r and "ns_per_op" in r and "impl" not in r]
        if not lines:
            out.append({"row": row, "src": "binding", "error": err or "no JSON lines with lang/op/ns_per_op"})
            continue
        info = next((r for r in recs if r.get("info")), {})
        out.append({"row": row, "src": "binding_info", **{k: info[k] for k in
                    ("cpu", "loadavg_start", "loadavg_end", "reps", "order", "fingerprint") if k in info}})
        c_of = {r["op"]: r["ns_per_op"] for r in lines if r["lang"] == "c"}
        for r in lines:
            if r["lang"] == "c":
                continue
            c_op = r.get("c_op", r["op"])
            rec = {"row": row, "src": "binding", "n": r.get("n", 10_000), "size": r.get("size", 1024),
                   "op": r["op"], "ns_per_op": r["ns_per_op"], "c_op": c_op,
                   "c_ns_per_op": r.get("c_ns_per_op", c_of.get(c_op))}
            for k in ("ratio_min", "ratio_median", "ratio_max", "reps", "median_ns", "p99_ns", "samples"):
                if k in r:
                    rec[k] = r[k]
            out.append(rec)
        out.extend({"row": row, "src": "agno_compare", **r} for r in agno)
        if err:
            out.append({"row": row, "src": "binding", "warning": err})
    return out


def check_baseline(timeout):
    """Smoke check of the bindings' C baseline (comparison/c/baseline_main.c, built by bench-build): a few
    short rounds of every op. Returns a problem or None."""
    exe = os.path.join(BIN, "baseline_main")
    if not os.path.exists(exe):
        return "target/bench-bin/baseline_main is not built (make bench-build)"
    recs, err = run_driver([exe, "2000", "--reps", "5"], timeout)
    if err:
        return f"baseline_main: {err}"
    ops = {r.get("op") for r in recs if r.get("lang") == "c" and r.get("ns_per_op", 0) > 0 and r.get("reps", 0) >= 5}
    want = {"read", "read_buf", "upsert", "get_recent_sessions"}
    if not any(r.get("info") and r.get("fingerprint") for r in recs) or not want <= ops:
        return f"baseline_main printed {len(recs)} records, missing {sorted(want - ops)} or its info line"
    return None


def build_criterion(timeout):
    """Builds benches/engine.rs now, so that it measures the same sources as the other rows even if they
    change during the run; returns (executable, error)."""
    log("criterion: cargo bench --no-run --bench engine")
    try:
        p = subprocess.run(["cargo", "bench", "--locked", "--no-run", "--bench", "engine", "--message-format=json"],
                           cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"build timed out after {timeout} s"
    exe = None
    for line in p.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and "bench" in msg.get("target", {}).get("kind", []):
            exe = msg["executable"]
    if p.returncode != 0 or not exe:
        return None, "cargo bench --no-run failed: " + " | ".join(p.stderr.strip().splitlines()[-3:])
    snapshot = os.path.join(BIN, "engine-criterion")
    shutil.copy2(exe, snapshot)
    return snapshot, None


def run_criterion(exe, timeout, data_root):
    log("criterion: benches/engine.rs")
    base = os.path.join(ROOT, "target", "criterion")
    shutil.rmtree(base, ignore_errors=True)  # only this run's estimates are read back
    env = dict(os.environ, SS_BENCH_DATA=data_root, CRITERION_HOME=base)
    try:
        p = subprocess.run([exe, "--bench"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [{"row": "criterion", "error": f"timed out after {timeout} s"}]
    if p.returncode != 0:
        return [{"row": "criterion", "error": "benches/engine.rs failed: " + " | ".join(p.stderr.strip().splitlines()[-3:])}]
    out = []
    for dirpath, _, files in os.walk(base):
        if "estimates.json" in files and dirpath.endswith(os.path.join("new")):
            bench_dir = os.path.dirname(dirpath)
            with open(os.path.join(dirpath, "estimates.json")) as f:
                est = json.load(f)
            name = os.path.relpath(bench_dir, base)
            bm = os.path.join(dirpath, "benchmark.json")
            if os.path.exists(bm):
                with open(bm) as f:
                    name = json.load(f).get("full_id", name)
            out.append({"row": "criterion", "bench": name, "median_ns": est["median"]["point_estimate"],
                        "median_lo": est["median"]["confidence_interval"]["lower_bound"],
                        "median_hi": est["median"]["confidence_interval"]["upper_bound"],
                        "mean_ns": est["mean"]["point_estimate"]})
    if not out:
        out.append({"row": "criterion", "error": "no estimates found under target/criterion"})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--full", action="store_true")
    mode.add_argument("--smoke", action="store_true")
    ap.add_argument("--out", required=True, help="directory for bench.md and bench.png")
    ap.add_argument("--rows", help="comma-separated rows (see above)")
    ap.add_argument("--sizes", help="comma-separated SESSIONS:BYTES, e.g. 10000:1024,1000000:1024")
    ap.add_argument("--time-cap", type=float, help="seconds per operation and row (default 1, smoke 0.05)")
    ap.add_argument("--max-samples", type=int, help="calls per small operation (default 20000, smoke 2000)")
    ap.add_argument("--big-samples", type=int, help="calls per export/import (default 3, smoke 2)")
    ap.add_argument("--deadline", type=float, help="give up on one export/import call after this (default 90 s)")
    ap.add_argument("--agno-max", type=int, default=1_000_000, help="largest store the agno row runs on")
    a = ap.parse_args()

    smoke = a.smoke
    rows = (a.rows.split(",") if a.rows else (SMOKE_ROWS if smoke else ALL_ROWS))
    sizes = ([tuple(int(x) for x in s.split(":")) for s in a.sizes.split(",")] if a.sizes
             else (SMOKE_SIZES if smoke else FULL_SIZES))
    time_cap = a.time_cap or (0.05 if smoke else 1.0)
    max_samples = a.max_samples or (2000 if smoke else 20000)
    big = a.big_samples or (2 if smoke else 3)
    deadline = a.deadline or (20 if smoke else 90)
    threads_s = 0.05 if smoke else 1.0
    durable_secs = "0.3" if smoke else "3"
    timeout = 120 if smoke else 1200
    data_root = os.path.join(ROOT, "target", "bench-data")
    work = os.path.join(ROOT, "target", "bench-smoke-run" if smoke else "bench-run")
    os.makedirs(work, exist_ok=True)
    out_dir = os.path.join(ROOT, a.out) if not os.path.isabs(a.out) else a.out
    os.makedirs(out_dir, exist_ok=True)

    # A SIGTERM or SIGHUP ends the run through the `finally` clauses, which stop any redis-server.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: sys.exit(128 + signum))

    started = time.time()
    cond = conditions()
    cond.update({"redis_pinning": " ".join(PIN) or "none", "mode": "smoke" if smoke else "full", "rows": rows, "sizes": sizes, "time_cap_s": time_cap,
                 "max_samples": max_samples, "big_samples": big, "deadline_s": deadline})
    log(f"{cond['mode']} run: rows {','.join(rows)}; sizes {sizes}; load {' '.join(cond['loadavg'])}")
    results = []
    criterion_exe = None
    if "criterion" in rows:
        criterion_exe, err = build_criterion(1800)
        if err:
            results.append({"row": "criterion", "error": err})
    common = ["--time-cap", str(time_cap), "--max-samples", str(max_samples), "--big-samples", str(big)]

    for n, size in sizes:
        t = time.time()
        data = gen_sessions.generate(n, size, data_root, quiet=True)
        log(f"data n={n} size={size}: {data} ({time.time() - t:.1f} s)")
        for row in rows:
            if row in ("bindings", "criterion"):
                continue
            cmd, env, redis, skipped = None, None, None, False
            # Thread scaling: measured by the C row, on the smallest and the largest 1 KiB stores.
            one_k = [c for c in sizes if c[1] == 1024]
            scaling = size == 1024 and one_k and n in (one_k[0][0], one_k[-1][0])
            threads = ["--threads", str(threads_s)] if row == "c" and scaling else []
            # The 1 KiB stores of 100k sessions and more (every store in a smoke run).
            big_1k = size == 1024 and (smoke or n >= 100_000)
            if row in ("floor", "rust"):
                cmd, why = bench_bin("ss-bench-rust", "--row", row, "--data", data, "--deadline", str(deadline), *common)
            elif row == "paired":
                cmd, why = bench_bin("ss-bench-rust", "--row", "paired", "--data", data,
                                     "--ops", "read,recent,ids,query,update", "--rounds", "5" if smoke else "51")
            elif row == "mixed":
                if not big_1k:
                    continue
                cmd, why = bench_bin("ss-mixed-load", "--data", data, "--secs", "0.3" if smoke else "4")
            elif row == "versions":
                if not smoke and n != 100_000:
                    continue
                cmd, why = bench_bin("ss-versions", "--data", data, "--secs", "0.2" if smoke else "2")
            elif row == "bounds":
                if not big_1k:
                    continue
                cmd, why = bench_bin("ss-bounds", "--data", data, "--secs", "0.2" if smoke else "2")
            elif row == "durable":
                if not big_1k:
                    continue
                cmd, why = bench_bin("ss-durable", "--data", data, "--dir", os.path.join(work, "durable-store"),
                                     "--secs", durable_secs)
            elif row == "c":
                cmd, why = bench_bin("ss_driver", "--data", data, "--deadline", str(deadline), *threads, *common)
            elif row == "redis":
                exe = os.path.join(BIN, "redis_driver")
                if not os.path.exists(exe) or not shutil.which("redis-server"):
                    cmd = None
                    why = "redis-server or the hiredis driver is missing (make bench-deps)"
                else:
                    cmd = PIN + [exe, "--data", data, "--deadline", str(deadline)] + common
            elif row == "ss-redis":
                cmd, why, skipped = ss_redis_cmd(data, n, size, deadline, common)
            elif row == "agno":
                if not os.path.exists(VENV_PY):
                    cmd = None
                    why = "target/bench-venv is missing (make bench-venv)"
                elif n > a.agno_max:
                    cmd = None
                    why = f"skipped above {a.agno_max} sessions (--agno-max)"
                else:
                    cmd = [VENV_PY, os.path.join(ROOT, "comparison", "agno_driver.py"), "--data", data,
                           "--deadline", str(deadline)] + common
            else:
                log(f"unknown row {row}; skipped")
                continue
            if cmd is None:
                results.append({"row": row, "n": n, "size": size, "error": why, **({"skipped": True} if skipped else {})})
                log(f"  {row}: n/a ({why})")
                if row == "durable":  # ss-durable-peers runs right after ss-durable, whatever became of it
                    results.extend(durable_peers(data, n, size, work, durable_secs, timeout))
                continue
            t = time.time()
            try:
                if row in ("redis", "ss-redis"):  # the same server for both, started the same way
                    redis = start_redis(os.path.join(work, row))
                    cmd += ["--redis-port", str(redis.port)]
                    if row == "ss-redis":  # its driver has no Redis client to ask the server's pid
                        cmd += ["--redis-pid", str(redis.proc.pid)]
                recs, err = run_driver(cmd, timeout, env)
            except Exception as e:  # a row must never stop the run
                recs, err = [], str(e)
            finally:
                if redis:
                    redis.stop()
            results.extend(recs)
            if err:
                results.append({"row": row, "n": n, "size": size, "error": err})
            log(f"  {row}: {len(recs)} records in {time.time() - t:.1f} s" + (f"; error: {err}" if err else ""))
            if row == "durable":
                results.extend(durable_peers(data, n, size, work, durable_secs, timeout))

    if "bindings" in rows:
        results.extend(run_bindings(600))
    baseline_problem = None
    if smoke:
        baseline_problem = check_baseline(60)
        log(f"C baseline of the bindings (baseline_main): {baseline_problem or 'ok'}")
    if criterion_exe:
        results.extend(run_criterion(criterion_exe, 1800, data_root))

    cond["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    cond["duration_s"] = round(time.time() - started, 1)
    res_path = os.path.join(work, "results.jsonl")
    with open(res_path, "w") as f:
        f.write(json.dumps({"conditions": cond}) + "\n")
        for r in results:
            f.write(json.dumps(r) + "\n")
    log(f"results: {os.path.relpath(res_path, ROOT)} ({cond['duration_s']} s)")

    import report
    problems = report.write(res_path, os.path.join(out_dir, "bench.md"))
    log(f"report: {os.path.relpath(os.path.join(out_dir, 'bench.md'), ROOT)}")
    if os.path.exists(VENV_PY) and not smoke:
        p = subprocess.run([VENV_PY, os.path.join(ROOT, "comparison", "plot.py"), res_path,
                            os.path.join(out_dir, "bench.png")], capture_output=True, text=True)
        if p.returncode == 0:
            log(f"plot: {os.path.relpath(os.path.join(out_dir, 'bench.png'), ROOT)}")
        else:
            log("plot failed: " + p.stderr.strip()[-500:])
    elif not smoke:
        log("plot skipped: no virtualenv with matplotlib (make bench-venv)")
    if baseline_problem:
        problems = problems + [baseline_problem]
    if smoke and problems:
        for p in problems:
            log(f"smoke: {p}")
        sys.exit(1)


if __name__ == "__main__":
    main()
