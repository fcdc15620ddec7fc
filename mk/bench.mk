# Benchmarks, included from the top-level Makefile (see docs/bench.md for what is measured and how).
#
#   make bench        the whole comparison (~11 min on 2 cores; the first run adds ~5 min to generate
#                     the data under target/bench-data, build and install): installs what it needs on first use
#                     (Debian's redis-server and libhiredis-dev through apt-get, a virtualenv with
#                     agno==1.8.4 and matplotlib from PyPI), writes docs/bench.md and docs/bench.png
#   make bench-smoke  1k sessions, the in-process rows and ss-redis, short caps, plus a few short rounds of the bindings'
#                     C baseline (comparison/c/baseline_main.c): under a minute, no network (except for the
#                     first build of comparison/rust, see bench-rust); writes
#                     target/bench-smoke/bench.md. Part of `make test`.
#
# Knobs: BENCH_ARGS="--sizes 10000:1024 --rows c,floor" (see python3 comparison/run.py --help).
# Everything here is idempotent: installs are skipped when already done, builds are incremental.

# Keep whatever default goal the including Makefile has (this fragment may be included before it).
BENCH_PREV_DEFAULT_GOAL := $(.DEFAULT_GOAL)

BENCH_PYTHON   ?= python3
BENCH_VENV_PY  ?= python3.11
BENCH_CARGO    ?= cargo
BENCH_CC       ?= cc
BENCH_RELEASE  := target/release
BENCH_BIN      := target/bench-bin
BENCH_VENV     := target/bench-venv
BENCH_CFLAGS   := -std=c11 -O2 -g -Wall -Wextra -Werror -Iinclude -Icomparison/c
# The C driver runs against a copy of the library taken when it is built (target/bench-bin), so that a
# rebuild of target/release during a long run cannot change the engine under measurement.
BENCH_SS_LIBS  := -L$(BENCH_BIN) -lsessionstore -lpthread -Wl,-rpath,$(abspath $(BENCH_BIN))
BENCH_SUDO     := $(if $(filter 0,$(shell id -u)),,sudo)
BENCH_ARGS     ?=
BENCH_RUST_ENV := CARGO_TARGET_DIR=$(abspath target)

.PHONY: bench bench-smoke bench-build bench-rust bench-deps bench-redis-install bench-venv

# The C driver for the library, the bindings' C baseline program, and the Rust rows (floor and engine).
# Only local toolchains.
bench-build: $(BENCH_BIN)/ss_driver $(BENCH_BIN)/baseline_main bench-rust

# Relinked on every run (cheap) because `lib` is the top-level Makefile's phony library target.
$(BENCH_BIN)/ss_driver: comparison/c/ss_driver.c comparison/c/harness.h lib
	@mkdir -p $(BENCH_BIN)
	cp $(BENCH_RELEASE)/libsessionstore.so $(BENCH_BIN)/libsessionstore.so
	ln -sf libsessionstore.so $(BENCH_BIN)/libsessionstore.so.0
	$(BENCH_CC) $(BENCH_CFLAGS) comparison/c/ss_driver.c -o $@ $(BENCH_SS_LIBS)

# The one C baseline of the bindings' benchmarks (comparison/c/baseline.h) as a program: what Node's (and
# Python's) bench run as a separate process; built here so that the smoke run checks it. Linked against the
# same copy of the library as ss_driver.
$(BENCH_BIN)/baseline_main: comparison/c/baseline_main.c comparison/c/baseline.h $(BENCH_BIN)/ss_driver
	$(BENCH_CC) $(BENCH_CFLAGS) -Icomparison/c comparison/c/baseline_main.c -o $@ $(BENCH_SS_LIBS)

# comparison/rust is its own workspace; it resolves the library's dependencies to the versions of the
# library's Cargo.lock (copied in, not checked in) and shares target/ so that they are built once. Cargo
# then adds the entries of the dependencies that only comparison/rust has (redis and rusqlite, for
# ss-durable-peers), at their newest compatible versions from crates.io: so the first build after a copy
# needs the network. The copy is made only when the library's Cargo.lock changed since the last one
# (target/bench-rust.lock is that copy's source), so that later builds reuse the added entries offline.
bench-rust:
	@if ! cmp -s Cargo.lock target/bench-rust.lock || [ ! -f comparison/rust/Cargo.lock ]; then \
	  mkdir -p target && cp Cargo.lock comparison/rust/Cargo.lock && cp Cargo.lock target/bench-rust.lock; \
	fi
	$(BENCH_RUST_ENV) $(BENCH_CARGO) build --release --manifest-path comparison/rust/Cargo.toml
	@mkdir -p $(BENCH_BIN)
	cp target/release/ss-bench-rust target/release/ss-alloc-stats target/release/ss-lock-probe target/release/ss-mixed-load target/release/ss-durable target/release/ss-durable-peers target/release/ss-versions target/release/ss-bounds $(BENCH_BIN)/

# Redis 7 and the hiredis C client, from Debian, when missing. The package's own service is not used:
# the benchmark starts its own server on a free loopback port and stops it afterwards.
BENCH_REDIS_INSTALL = \
	if command -v redis-server >/dev/null 2>&1 && [ -f /usr/include/hiredis/hiredis.h ]; then \
	  echo "bench: redis-server and hiredis already installed"; \
	else \
	  $(BENCH_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update && \
	  $(BENCH_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    redis-server libhiredis-dev; \
	fi

BENCH_REDIS_DRIVER = \
	mkdir -p $(BENCH_BIN) && \
	$(BENCH_CC) $(BENCH_CFLAGS) comparison/c/redis_driver.c -o $(BENCH_BIN)/redis_driver -lhiredis

# The virtualenv for the Agno row and the plot, with the pinned versions; rebuilt when the pins change.
BENCH_VENV_INSTALL = \
	if [ $(BENCH_VENV)/.installed -nt comparison/requirements.txt ]; then \
	  echo "bench: $(BENCH_VENV) up to date"; \
	else \
	  rm -rf $(BENCH_VENV) && $(BENCH_VENV_PY) -m venv $(BENCH_VENV) && \
	  $(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check -r comparison/requirements.txt && \
	  touch $(BENCH_VENV)/.installed; \
	fi

bench-redis-install:
	@$(BENCH_REDIS_INSTALL)

bench-venv:
	@$(BENCH_VENV_INSTALL)

# Installs that need the network. A failure leaves the matching rows "n/a" instead of stopping the bench.
bench-deps:
	@{ $(BENCH_REDIS_INSTALL); } || echo "bench: could not install redis-server/libhiredis-dev; the Redis row will be n/a"
	@{ $(BENCH_REDIS_DRIVER); } || echo "bench: could not build the Redis driver; the Redis row will be n/a"
	@{ $(BENCH_VENV_INSTALL); } || echo "bench: could not create $(BENCH_VENV); the Agno row and the plot will be n/a"

bench: bench-build bench-deps
	$(BENCH_PYTHON) comparison/run.py --full --out docs $(BENCH_ARGS)

bench-smoke: bench-build
	$(BENCH_PYTHON) comparison/run.py --smoke --out target/bench-smoke $(BENCH_ARGS)

.DEFAULT_GOAL := $(BENCH_PREV_DEFAULT_GOAL)
