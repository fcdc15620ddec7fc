# sessionstore: `make` builds the library and header, `make test` tests everything, `make demo` runs
# the walk-through, `make install PREFIX=...` installs for C and C++ users. See README.md.

CARGO     ?= cargo
CC        ?= cc
PREFIX    ?= /usr/local
RELEASE   := target/release
BUILD     := target/c
LIB_MAJOR := $(shell sed -n 's/^version = "\([0-9]*\)\..*/\1/p' Cargo.toml | head -n 1)
SONAME    := libsessionstore.so.$(LIB_MAJOR)
CFLAGS_C  := -std=c11 -Wall -Wextra -Werror -g -Iinclude
LDFLAGS_C := -L$(RELEASE) -lsessionstore -Wl,-rpath,$(abspath $(RELEASE)) -lpthread
SANITIZE  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# "Possibly lost" is not an error: hash tables in statics (crossbeam's thread registry) hold a pointer
# into the middle of their allocation, which valgrind can only call possibly lost.
VALGRIND  := valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --error-exitcode=99

.PHONY: all lib header test demo clean install check-header lint test-deps test-rust test-c test-cpp test-node test-go \
        test-python test-cross check-readme tools

all: lib

# Long model and stress runs, cargo-fuzz, Rust sanitizers: make test-long, make fuzz, make sanitize.
# (The bounded model, stress and hostile-input suites run in test-rust.)
include mk/reliability.mk
# The cross-language benchmark (make bench) and its one-minute smoke run (make bench-smoke).
include mk/bench.mk

# The library, its soname link (what programs linked against it look for) and the header.
lib:
	$(CARGO) build --release --locked
	ln -sf libsessionstore.so $(RELEASE)/$(SONAME)

# Tools the tests run that a fresh machine may lack.
tools:
	@command -v valgrind >/dev/null || (apt-get update && apt-get install -y valgrind)

test: lint check-header check-readme test-rust test-c test-cpp test-node test-go test-python test-cross bench-smoke
	@echo "make test: all suites passed"

# The header generator (tools/header, cbindgen pinned in its own lock file) shares target/.
HEADER_TOOL := CARGO_TARGET_DIR=$(abspath target) $(CARGO) run --quiet --release --locked \
               --manifest-path tools/header/Cargo.toml --

# Regenerates include/sessionstore.h from src/ffi; commit the result with the change that caused it.
header:
	$(HEADER_TOOL) include/sessionstore.h

# The committed header must be what `make header` writes.
check-header:
	@$(HEADER_TOOL) target/sessionstore.h.check
	@cmp -s include/sessionstore.h target/sessionstore.h.check || { \
	  echo "include/sessionstore.h is stale: run 'make header' and commit it"; \
	  diff -u include/sessionstore.h target/sessionstore.h.check | head -n 40; exit 1; }
	@! grep -nE '^(typedef|#define) ' include/sessionstore.h | grep -vE '^[0-9]+:(typedef (struct|enum) ss_[a-z_]+ ss_[a-z_]+;|typedef [a-z0-9_ ]+\(?\*?ss_[a-z_]+|#define (SS_|SESSIONSTORE_H))' \
	  || { echo "include/sessionstore.h exports a name without the ss_/SS_ prefix (an engine item reached cbindgen)"; exit 1; }

# Formatting, lints and the API docs, all warnings as errors. The docs include private items: the
# engine's comments link to each other, and a link to an item that moved or became test-only is a lie.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --release --locked --no-deps --document-private-items

# The README's code blocks are the example programs the bindings' tests build and run.
check-readme:
	sh tests/readme_snippets.sh

test-rust: test-deps
	$(CARGO) test --release --locked

# redis-server, for the redis backend's tests (each starts its own on a free loopback port and stops
# it; the package's service is not used), from Debian when missing.
test-deps:
	@command -v redis-server >/dev/null 2>&1 || { \
	  $(BENCH_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update && \
	  $(BENCH_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server; }

$(BUILD)/%: tests/c/%.c include/sessionstore.h lib | $(BUILD)
	$(CC) $(CFLAGS_C) $< $(LDFLAGS_C) -o $@

$(BUILD)/%-asan: tests/c/%.c include/sessionstore.h lib | $(BUILD)
	$(CC) $(CFLAGS_C) $(SANITIZE) $< $(LDFLAGS_C) -o $@

$(BUILD):
	mkdir -p $@

# The C tests three ways: plain, under ASan+UBSan, and under valgrind's leak checker.
test-c: tools $(BUILD)/test_api $(BUILD)/test_api-asan
	$(BUILD)/test_api
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/test_api-asan
	$(VALGRIND) $(BUILD)/test_api

# C++: the wrapper's tests (plain, sanitizers, valgrind) and the install/pkg-config/CMake consumers.
test-cpp: lib test-deps
	$(MAKE) -C bindings/cpp test

# Node: npm ci from the lock file, node --test (including 100k open/close cycles) and the tsc check.
test-node: lib test-deps
	$(MAKE) -C bindings/node test

# Go: gofmt, go vet and go test -race against the static library (the default link), then the shared one.
test-go: lib test-deps
	$(MAKE) -C bindings/go test test-shared

# Many processes, one store: a C writer, a Go reader and a Node reader on one redis-server at the same time
# (tests/cross/run.sh). The Node binding needs its npm dependencies (koffi), installed as its Makefile does.
test-cross: lib test-deps
	$(MAKE) -C bindings/node node_modules/.package-lock.json
	bash tests/cross/run.sh

# Python: the wheel (bundling the library), mypy --strict, pytest and the agno 1.8.4 / 2.9.0 proofs in
# virtualenvs created from bindings/python/requirements/*.txt, the examples, and a fresh-venv wheel check.
test-python: lib test-deps
	$(MAKE) -C bindings/python test

demo: lib | $(BUILD)
	$(CC) $(CFLAGS_C) examples/demo.c $(LDFLAGS_C) -o $(BUILD)/demo
	$(BUILD)/demo
	$(CC) $(CFLAGS_C) examples/durable.c $(LDFLAGS_C) -o $(BUILD)/durable
	@echo; echo "A durable store, restarted twice (the first run exits without closing, as a crash would):"
	rm -rf target/demo-store
	$(BUILD)/durable target/demo-store exit-without-closing
	$(BUILD)/durable target/demo-store
	$(BUILD)/durable target/demo-store
	$(MAKE) -C bindings/cpp demo
	$(MAKE) -C bindings/node demo
	$(MAKE) -C bindings/go demo
	$(MAKE) -C bindings/python demo

# Libraries, headers, pkg-config file and CMake package under $(PREFIX) (DESTDIR is honoured).
install: lib
	sh packaging/install.sh "$(PREFIX)"

clean:
	$(CARGO) clean
