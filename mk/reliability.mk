# Reliability suite: reference-model tests, concurrency stress, hostile inputs, fuzzing, sanitizers.
# Included from the top-level Makefile (`include mk/reliability.mk`). See docs/bad-input.md.
#
#   make test-reliability   bounded, about a minute once built: model (1000 cases + fixed long sequences),
#                           stress (SS_STRESS_SECS=3, 8 threads), hostile inputs and the fuzz-target
#                           bodies on stable; then a fuzz smoke run when nightly and cargo-fuzz are
#                           installed (FUZZ_SMOKE=auto; 1 forces it, installing them; 0 skips it)
#   make test-long          PROPTEST_CASES=$(LONG_CASES) model run, $(LONG_STRESS_SECS) s x
#                           $(LONG_STRESS_THREADS) threads stress, $(LONG_STABLE_FUZZ_CASES) stable fuzz cases,
#                           $(LONG_CRASH_CYCLES) kill -9 cycles of a durable store per sync policy
#   make fuzz               every cargo-fuzz target for FUZZ_SECONDS each (installs what it needs)
#   make fuzz-setup         installs cargo-fuzz and the nightly toolchain if missing (idempotent)
#   make sanitize           model, hostile and stress tests under AddressSanitizer, stress under
#                           ThreadSanitizer (nightly; TSan rebuilds std, so it needs rust-src)
#
# Fuzzing writes new corpus entries and a summary (executions per target) under $(FUZZ_WORK); only the
# seeds in fuzz/corpus/<target>/seed-* are kept in git. Crashes land in fuzz/artifacts/<target>/.

# Keep whatever default goal the including Makefile has (this fragment may be included before it).
RELIABILITY_PREV_DEFAULT_GOAL := $(.DEFAULT_GOAL)

CARGO                  ?= cargo
NIGHTLY                ?= +nightly
FUZZ_SECONDS           ?= 60
FUZZ_SMOKE_SECONDS     ?= 4
FUZZ_SMOKE             ?= auto
FUZZ_TARGETS           ?= session array query import config ops
FUZZ_WORK              ?= target/fuzz-work
FUZZ_FLAGS             ?= -dict=fuzz/json.dict -print_final_stats=1
LONG_CASES             ?= 200000
LONG_STRESS_SECS       ?= 60
LONG_STRESS_THREADS    ?= 32
LONG_STABLE_FUZZ_CASES ?= 20000
LONG_CRASH_CYCLES      ?= 1000
SAN_TARGET             ?= $(shell rustc -vV | sed -n 's/^host: //p')
# The makefile make was started with (the top-level one that includes this fragment, or this file
# itself under `make -f`), so that the recursive calls below see these targets either way.
RELIABILITY_MAKE       := $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST))

.PHONY: test-reliability test-long fuzz fuzz-setup fuzz-build fuzz-smoke fuzz-smoke-auto \
        sanitize sanitize-asan sanitize-tsan

# The fuzz smoke run happens even when a test failed (e.g. a known_defect_* test); the exit status is
# the first failure's.
test-reliability:
	@status=0; \
	$(CARGO) test --release --locked --no-fail-fast --test model --test stress --test hostile -- --nocapture \
	  || status=$$?; \
	$(RELIABILITY_MAKE) fuzz-smoke-auto || { [ $$status -ne 0 ] || status=$$?; }; \
	exit $$status

fuzz-smoke-auto:
	@case "$(FUZZ_SMOKE)" in \
	  0) echo "fuzz smoke run skipped (FUZZ_SMOKE=0)";; \
	  1) $(RELIABILITY_MAKE) fuzz-setup fuzz-smoke;; \
	  *) if $(CARGO) $(NIGHTLY) fuzz --version >/dev/null 2>&1; then \
	       $(RELIABILITY_MAKE) fuzz-smoke; \
	     else \
	       echo "fuzz smoke run skipped: cargo-fuzz or the nightly toolchain is missing" \
	            "(make fuzz-setup installs them; the target bodies already ran on stable in tests/hostile.rs)"; \
	     fi;; \
	esac

# Only the tests whose size the variables set (the others run in test-reliability); all three run
# even if one fails.
test-long:
	@status=0; \
	PROPTEST_CASES=$(LONG_CASES) $(CARGO) test --release --locked --test model engine_matches_the_reference_model \
	  -- --nocapture || status=$$?; \
	SS_STRESS_SECS=$(LONG_STRESS_SECS) SS_STRESS_THREADS=$(LONG_STRESS_THREADS) \
	  $(CARGO) test --release --locked --test stress concurrent_mixed_operations -- --nocapture || status=$$?; \
	SS_STABLE_FUZZ_CASES=$(LONG_STABLE_FUZZ_CASES) $(CARGO) test --release --locked --test hostile stable_fuzz \
	  || status=$$?; \
	SS_CRASH_CYCLES=$(LONG_CRASH_CYCLES) $(CARGO) test --release --locked --test durable kill_9 \
	  -- --nocapture || status=$$?; \
	exit $$status

# Idempotent: installs only what is missing. Needs network access (static.rust-lang.org, crates.io).
fuzz-setup:
	@$(CARGO) $(NIGHTLY) --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
	@$(CARGO) $(NIGHTLY) fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked

fuzz-build:
	$(CARGO) $(NIGHTLY) fuzz build -O

# Runs each target on its seeds plus what earlier runs found, for $(1) seconds; appends one line per
# target (executions, seconds, corpus size) to $(FUZZ_WORK)/summary.txt and prints them.
define run-fuzz-targets
	@mkdir -p $(FUZZ_WORK)
	@echo "# $$(date -u +%FT%TZ) $(1) s per target" >> $(FUZZ_WORK)/summary.txt
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_WORK)/corpus/$$t; \
	  $(CARGO) $(NIGHTLY) fuzz run -O $$t $(FUZZ_WORK)/corpus/$$t fuzz/corpus/$$t -- \
	    -max_total_time=$(1) $(FUZZ_FLAGS) > $(FUZZ_WORK)/$$t.log 2>&1 \
	    || { tail -n 60 $(FUZZ_WORK)/$$t.log; echo "fuzz target $$t failed: see $(FUZZ_WORK)/$$t.log and fuzz/artifacts/$$t"; exit 1; }; \
	  execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_WORK)/$$t.log); \
	  secs=$$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' $(FUZZ_WORK)/$$t.log); \
	  corpus=$$(find $(FUZZ_WORK)/corpus/$$t fuzz/corpus/$$t -type f | wc -l); \
	  printf '%-8s %10s executions in %4s s, corpus %s files\n' $$t "$$execs" "$$secs" "$$corpus" | tee -a $(FUZZ_WORK)/summary.txt; \
	done
endef

fuzz-smoke: fuzz-build
	$(call run-fuzz-targets,$(FUZZ_SMOKE_SECONDS))

fuzz: fuzz-setup fuzz-build
	$(call run-fuzz-targets,$(FUZZ_SECONDS))

sanitize: sanitize-asan sanitize-tsan

sanitize-asan:
	RUSTFLAGS="-Zsanitizer=address" ASAN_OPTIONS=detect_leaks=1 CARGO_TARGET_DIR=target/asan \
	  $(CARGO) $(NIGHTLY) test --release --locked --no-fail-fast --target $(SAN_TARGET) --test model --test hostile --test stress

sanitize-tsan:
	@rustup component list --toolchain nightly --installed 2>/dev/null | grep -q rust-src \
	  || rustup component add rust-src --toolchain nightly
	RUSTFLAGS="-Zsanitizer=thread" TSAN_OPTIONS="halt_on_error=1" CARGO_TARGET_DIR=target/tsan \
	  $(CARGO) $(NIGHTLY) test -Zbuild-std --release --target $(SAN_TARGET) --test stress

.DEFAULT_GOAL := $(RELIABILITY_PREV_DEFAULT_GOAL)
