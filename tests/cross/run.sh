#!/usr/bin/env bash
# Many processes, one store: sessions written by a C program are read by a Go program and a Node program at
# the same time, through one redis-server. `make test-cross` runs this after `make lib` and the Node
# binding's npm install.
#
# Builds the C writer (writer.c) and the Go reader (reader_go/) into target/cross/, starts a redis-server of
# its own on a free loopback port, then starts the Go reader, the Node reader (reader.js) and the writer
# together on a fresh namespace. Each checks what it reads and exits non-zero on a failure; this script
# fails when any of them fails or all three are not done within CROSS_TIMEOUT_S (default 120) seconds, and
# requires that each reader saw at least 2 versions of the session "shared": proof that it read while the
# C program was writing. The processes' output is kept in target/cross/*.log.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/target/cross
RELEASE=$ROOT/target/release
CC=${CC:-gcc}
GO=${GO:-go}
NODE=${NODE:-node}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
TIMEOUT_S=${CROSS_TIMEOUT_S:-120}

started=$EPOCHREALTIME
say() { echo "test-cross: $*"; }
die() {
  echo "test-cross: FAIL: $*" >&2
  exit 1
}

[ -f "$RELEASE/libsessionstore.so" ] || die "$RELEASE/libsessionstore.so is missing: run make lib"
command -v "$REDIS_SERVER" >/dev/null || die "$REDIS_SERVER is not installed: run make test-deps"
[ -d "$ROOT/bindings/node/node_modules/koffi" ] ||
  die "the Node binding's dependencies are missing: run make -C bindings/node node_modules/.package-lock.json"
mkdir -p "$OUT"
rm -f "$OUT"/*.log

# --- build -------------------------------------------------------------------------------------------------
"$CC" -std=c11 -Wall -Wextra -Werror -g -I"$ROOT/include" "$HERE/writer.c" \
  -L"$RELEASE" -lsessionstore -Wl,-rpath,"$RELEASE" -lpthread -o "$OUT/writer"

# The go command's build cache keys a cgo package on its #cgo lines and CGO_* variables, not on the header it
# includes: a checksum of the header and the library in CGO_CFLAGS (as bindings/go/Makefile does) keeps Go
# from reusing a binding compiled against an older include/sessionstore.h. GOPROXY=off: the reader needs no
# module but the binding, which go.mod's replace takes from this checkout (a directory replacement needs no
# go.sum). -buildvcs=false: nothing to stamp, and no dependence on git accepting this work tree.
lib_sum=$(cat "$ROOT/include/sessionstore.h" "$RELEASE/libsessionstore.so" | cksum | tr ' ' _)
(cd "$HERE/reader_go" &&
  CGO_CFLAGS="-g -O2 -DSSGO_LIB_SUM=$lib_sum" GOPROXY=off \
    "$GO" build -buildvcs=false -tags sessionstore_shared -o "$OUT/reader_go" .)

# --- a redis-server of our own -----------------------------------------------------------------------------
pids=()       # every process this script started, killed by cleanup
redis_pid=""
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port the kernel hands out for port 0 is free a moment later, unless another process takes it meanwhile:
# then redis-server exits and another port is tried.
free_port() {
  "$NODE" -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for attempt in 1 2 3; do
  port=$(free_port)
  "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$OUT/redis.log" 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
  deadline=$((SECONDS + 10))
  until accepts "$port"; do
    kill -0 "$redis_pid" 2>/dev/null || break
    [ "$SECONDS" -lt "$deadline" ] || die "redis-server does not accept connections on port $port: $(cat "$OUT/redis.log")"
    sleep 0.02
  done
  kill -0 "$redis_pid" 2>/dev/null && break
  [ "$attempt" -lt 3 ] || die "redis-server did not start: $(cat "$OUT/redis.log")"
done
url="redis://127.0.0.1:$port/0"
# A namespace of this run's own: nothing left by an earlier run, or by another run on the same server, is seen.
ns="cross-$(date +%s)-$$-$RANDOM"
say "redis-server $("$REDIS_SERVER" --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on $url, namespace $ns"

# --- three processes, one store ----------------------------------------------------------------------------
names=(reader-go reader-node writer)
"$OUT/reader_go" "$url" "$ns" >"$OUT/reader-go.log" 2>&1 &
pids+=("$!")
proc_pids=("$!")
# SESSIONSTORE_LIB: the library just built, whatever else the binding's loader might find first (prebuilds/
# left by an interrupted npm pack).
SESSIONSTORE_LIB="$RELEASE/libsessionstore.so" "$NODE" "$HERE/reader.js" "$url" "$ns" >"$OUT/reader-node.log" 2>&1 &
pids+=("$!")
proc_pids+=("$!")
"$OUT/writer" "$url" "$ns" >"$OUT/writer.log" 2>&1 &
pids+=("$!")
proc_pids+=("$!")

show_logs() {
  local name
  for name in "${names[@]}"; do
    echo "--- $name ($OUT/$name.log)" >&2
    cat "$OUT/$name.log" >&2
  done
}

# Polls rather than waits: a process that fails ends the test at once (the others are killed by cleanup)
# instead of after their own deadlines, and one that hangs is reported by name.
running=3
codes=(- - -)
deadline=$((SECONDS + TIMEOUT_S))
while [ "$running" -gt 0 ]; do
  for i in 0 1 2; do
    [ "${codes[$i]}" = - ] || continue
    kill -0 "${proc_pids[$i]}" 2>/dev/null && continue
    rc=0
    wait "${proc_pids[$i]}" || rc=$?
    codes[i]=$rc
    running=$((running - 1))
    if [ "$rc" -ne 0 ]; then
      show_logs
      die "${names[$i]} exited with status $rc"
    fi
  done
  if [ "$running" -gt 0 ] && [ "$SECONDS" -ge "$deadline" ]; then
    show_logs
    hung=""
    for i in 0 1 2; do
      [ "${codes[$i]}" = - ] && hung="$hung ${names[$i]}"
    done
    die "not done within $TIMEOUT_S s:$hung"
  fi
  sleep 0.05
done

# --- what the readers saw ----------------------------------------------------------------------------------
# A reader that saw a single version of "shared" read it only before or only after the writer's appends: it
# did not read while C wrote, which is what this test is for.
seen() { sed -n 's/.* seen_versions=\([0-9]*\) .*/\1/p' "$OUT/$1.log"; }
go_seen=$(seen reader-go)
node_seen=$(seen reader-node)
[ -n "$go_seen" ] && [ -n "$node_seen" ] || { show_logs; die "a reader printed no summary"; }
[ "$go_seen" -ge 2 ] || { show_logs; die "the Go reader saw $go_seen version(s) of \"shared\", not at least 2"; }
[ "$node_seen" -ge 2 ] || { show_logs; die "the Node reader saw $node_seen version(s) of \"shared\", not at least 2"; }
# The counts the writer read back from the store must be the ones the readers printed.
grep -q " from-go.seen_versions=$go_seen from-node.seen_versions=$node_seen\$" "$OUT/writer.log" ||
  { show_logs; die "the writer read back other counts than the readers printed"; }

cat "$OUT/writer.log" "$OUT/reader-go.log" "$OUT/reader-node.log"
say "ok in $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s (builds included)"
