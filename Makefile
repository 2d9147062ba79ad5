# atomics: the targets the README documents.  Every target works from a fresh clone on a
# machine with only the OS, python3 and the package registries: scripts/ft-python obtains a
# free-threaded CPython (building one into ~/.cache/atomics when needed, reused afterwards)
# and scripts/ensure-venv makes each virtual environment.

GIL_PYTHON     ?= python3
STRESS_SECONDS ?= 60
VENV_FT        := .venv-ft
VENV_GIL       := .venv-gil
VENV_DEV       := .venv-dev

.PHONY: demo test stress bench lint ft-python clean
.DEFAULT_GOAL := demo

## demo: run the demo on the free-threaded interpreter
demo:
	@scripts/ensure-venv $(VENV_FT) "$$(scripts/ft-python)" test
	$(VENV_FT)/bin/python -m atomics demo

## test: tests/ on the free-threaded interpreter and on $(GIL_PYTHON); fails if either fails
test:
	@GIL_PYTHON=$(GIL_PYTHON) scripts/run-tests

## stress: the long runs in stress/ on the free-threaded interpreter, STRESS_SECONDS each
stress:
	@scripts/ensure-venv $(VENV_FT) "$$(scripts/ft-python)" test
	$(VENV_FT)/bin/python -m atomics stress --seconds $(STRESS_SECONDS)

## bench: every benchmarks/bench_*.py on both interpreters; raw results in benchmarks/results/
bench:
	@scripts/ensure-venv $(VENV_FT) "$$(scripts/ft-python)" test
	@scripts/ensure-venv $(VENV_GIL) $(GIL_PYTHON) test
	@for bench in benchmarks/bench_*.py; do \
		for venv in $(VENV_FT) $(VENV_GIL); do \
			echo "== $$bench on $$venv"; \
			$$venv/bin/python $$bench || exit 1; \
		done; \
	done

## lint: ruff and mypy --strict
lint:
	@scripts/ensure-venv $(VENV_DEV) $(GIL_PYTHON) dev
	$(VENV_DEV)/bin/ruff check src tests stress benchmarks
	$(VENV_DEV)/bin/ruff format --check src tests stress benchmarks
	$(VENV_DEV)/bin/mypy --strict

## ft-python: print the free-threaded interpreter's path (building it if needed)
ft-python:
	@scripts/ft-python

clean:
	rm -rf $(VENV_FT) $(VENV_GIL) $(VENV_DEV) .test-results .pytest_cache .mypy_cache .ruff_cache
