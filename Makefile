# Two commands for a fresh machine (see README.md): `make demo` and `make test`.
# Each sets up what it needs: a virtualenv, PyTorch's CPU wheel FIRST (so nothing pulls CUDA builds),
# then vocwatch with its dev extras.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test lint unit

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

test: lint
	$(BIN)/vocwatch model prepare
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit
