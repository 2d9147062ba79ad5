# atomics: the targets the README documents.  Every target works from a fresh clone on a
# machine with only the OS, python3 and the package registries: scripts/ft-python obtains a
# free-threaded CPython (building one into ~/.cache/atomics when needed, reused afterwards)
# and scripts/ensure-venv makes each virtual environment.

GIL_PYTHON     ?= python3
STRESS_SECONDS ?= 60
VENV_FT        := .venv-ft
VENV_GIL       := .venv-gil
VENV_DEV       := .venv-dev
VENV_BENCH_FT  := .venv-bench-ft
VENV_BENCH_GIL := .venv-bench-gil
BENCHES        ?= $(wildcard benchmarks/bench_*.py)

.PHONY: lockcheck wild demo demo-redis test flake-check stress wheel-check bench bench-promote bench-tables bench-check-tables plots bench-scaling lint docs ft-python clean
.DEFAULT_GOAL := demo

## demo: run the demo on the free-threaded interpreter
demo:
	@scripts/ensure-venv $(VENV_FT) "$$(scripts/ft-python)" test
	$(VENV_FT)/bin/python -m atomics demo

## demo-redis: the demo with its agents in 1, 2, ... processes sharing one knowledge base on a
## throwaway local redis-server (started for the run, always stopped); DEMO_ARGS="--agents 16"
demo-redis:
	@scripts/ensure-venv $(VENV_FT) "$$(scripts/ft-python)" test
	@scripts/ensure-redis >/dev/null
	scripts/with-redis $(VENV_FT)/bin/python \
		$(VENV_FT)/bin/python -m atomics demo --backend {url} $(DEMO_ARGS)

## test: tests/ in five legs, one after the other: free-threaded, and GIL CPython 3.10, 3.11,
## 3.12, 3.13 (found on PATH or in pyenv; GIL_PYTHONS="python3.x ..." overrides: see
## scripts/run-tests); fails if a leg fails (or, under CI=true, cannot find its interpreter)
test:
	@scripts/run-tests

## flake-check: make test FLAKE_RUNS times (default 5) on a clean clone of HEAD under a CPU hog
FLAKE_RUNS ?= 5
flake-check:
	@GIL_PYTHON=$(GIL_PYTHON) scripts/flake-check $(FLAKE_RUNS)

## lockcheck: tests/ on the free-threaded interpreter under the lock-order checker
## (pytest --atomics-lockcheck: a test whose run shows a potential deadlock fails)
lockcheck:
	@scripts/ensure-venv $(VENV_FT) "$$(scripts/ft-python)" test
	@scripts/ensure-redis >/dev/null
	ATOMICS_EXPECT_LEG=free-threaded $(VENV_FT)/bin/python -m pytest -q -p no:cacheprovider \
		--atomics-lockcheck -o timeout=600 tests src/atomics

## wild: atomics.testing pointed at other projects' thread-safe objects (docs/found_in_the_wild.md)
wild:
	scripts/wild

## stress: the long runs (the suites shipped in atomics.testing.suites, which stress/ imports)
## on the free-threaded interpreter, STRESS_SECONDS per suite
stress:
	@scripts/ensure-venv $(VENV_FT) "$$(scripts/ft-python)" test
	$(VENV_FT)/bin/python -m atomics stress --seconds $(STRESS_SECONDS)

## wheel-check: build the wheel from HEAD, install it (with [test]) on every interpreter
## present, run --version, info, demo --steps 1 and stress --seconds 1 from outside the checkout
wheel-check:
	scripts/wheel-check

## bench: each of $(BENCHES) on both interpreters; every run writes a NEW file under
## benchmarks/results/runs/ (never the reference results: see bench-promote)
bench:
	@scripts/ensure-venv $(VENV_BENCH_FT) "$$(scripts/ft-python)" bench
	@scripts/ensure-venv $(VENV_BENCH_GIL) $(GIL_PYTHON) bench
	@for bench in $(BENCHES); do \
		for venv in $(VENV_BENCH_FT) $(VENV_BENCH_GIL); do \
			echo "== $$bench on $$venv"; began=$$(date +%s); \
			$$venv/bin/python $$bench || exit 1; \
			echo "== $$bench on $$venv: $$(( $$(date +%s) - began )) s"; \
		done; \
	done
	@echo "new runs are in benchmarks/results/runs/; the reference results are unchanged"
	@echo "(promote runs with make bench-promote, then make bench-tables)"

## bench-promote: make runs the reference results; RUNS="FILE ..." (default: the newest run of
## each benchmark and interpreter); REPLACE=1 to replace existing references
bench-promote:
	PYTHONPATH=src $(GIL_PYTHON) benchmarks/promote.py $(if $(RUNS),$(RUNS),--latest) $(if $(REPLACE),--replace)

## bench-tables: regenerate the benchmark tables in docs/ from the reference results
bench-tables:
	$(GIL_PYTHON) benchmarks/tables.py

## bench-check-tables: fail if a table in docs/ differs from what bench-tables would write
bench-check-tables:
	$(GIL_PYTHON) benchmarks/tables.py --check

## plots: draw the figures of benchmarks/plots.py (PNG, into docs/img/) from the reference results
plots:
	@scripts/ensure-venv $(VENV_BENCH_GIL) $(GIL_PYTHON) bench
	$(VENV_BENCH_GIL)/bin/python benchmarks/plots.py

## bench-scaling: the stdlib-only scaling benchmarks at 1, 2, 4, ... threads up to the core
## count (and 2x), free-threaded ($(FT_PYTHON) or scripts/ft-python's) and $(GIL_PYTHON), with no
## venv; results and plots in benchmarks/results/scaling/<cpus>cpu-<host>/ (scripts/bench-scaling)
bench-scaling:
	GIL_PYTHON=$(GIL_PYTHON) scripts/bench-scaling

## lint: ruff, mypy --strict, and the public API's types as a user sees them (tests/typing)
lint:
	@scripts/ensure-venv $(VENV_DEV) $(GIL_PYTHON) dev
	$(VENV_DEV)/bin/ruff check src tests stress benchmarks
	$(VENV_DEV)/bin/ruff format --check src tests stress benchmarks
	$(VENV_DEV)/bin/mypy --strict
	$(VENV_DEV)/bin/python tests/typing/test_typing.py

## docs: the API reference, generated from the docstrings by pdoc, as HTML in build/docs/
## (open build/docs/index.html): exactly the public modules of docs/stability.md
docs:
	@scripts/ensure-venv $(VENV_DEV) $(GIL_PYTHON) dev
	rm -rf build/docs
	$(VENV_DEV)/bin/python scripts/api-reference build/docs

## ft-python: print the free-threaded interpreter's path (building it if needed)
ft-python:
	@scripts/ft-python

clean:
	rm -rf $(VENV_FT) $(VENV_GIL) .venv-gil-* $(VENV_DEV) $(VENV_BENCH_FT) $(VENV_BENCH_GIL) .test-results .pytest_cache .mypy_cache .ruff_cache
