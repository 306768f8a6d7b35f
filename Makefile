# Two commands for a fresh machine (see README.md): `make demo` and `make test`.
# Each sets up what it needs: a virtualenv, PyTorch's CPU wheel FIRST (so nothing pulls CUDA builds),
# then vocwatch with its dev extras.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test fast lint

# Test selection and workers. tests/conftest.py marks every test by directory and by the fixtures it uses.
# `make fast`: everything but slow (reliability, fuzz, multi-process), model, browser and PostgreSQL tests.
FAST_TESTS := not slow and not model and not browser and not postgres
# pytest-xdist workers for `make test`. Many slow tests wait on subprocesses, servers and kill loops, so
# a 2-core machine is used best by twice as many workers as cores (at most 8: each worker has its own
# databases and connections on the shared PostgreSQL). `make test JOBS=0` runs in one process.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n * 2 < 8 ? n * 2 : 8 )))
# The `timing` tests mostly wait (on daemons); three at a time is light load. JOBS=0 runs them one by one.
TIMING_JOBS := $(if $(filter 0,$(JOBS)),0,3)

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vocwatch demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Two runs, both must pass: every test but `timing` on JOBS workers, then the `timing` tests (they assert
# wall-clock bounds, such as a daemon stopping within 15 s) beside nothing but each other. --dist loadfile:
# a worker takes a whole test module, so module-scoped fixtures (a browser, a seeded database, the fuzzing
# run) are made once. (Not loadgroup: with pytest 9.2 it silently stops grouping, pytest-xdist#1386.)
test: lint
	$(BIN)/vocwatch model prepare
	$(BIN)/pytest -n $(JOBS) --dist loadfile -m "not timing" --durations=25
	$(BIN)/pytest -n $(TIMING_JOBS) -m timing --durations=5

fast: $(STAMP)
	$(BIN)/pytest -n auto --dist loadfile -m "$(FAST_TESTS)"
