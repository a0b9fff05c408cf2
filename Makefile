# The two commands of the README: `make demo` and `make test`.
# Both work in a virtual environment of their own (VENV, `.venv` by default), built on first use
# from the project's files only; CI points VENV at a fresh temporary folder.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2

.PHONY: install install-dev demo test lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'

demo: install
	$(BIN)/mpp demo --reset

# Lint: style, import layers, and every import declared in pyproject.toml (deptry).
lint:
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/deptry .

# The whole suite: unit, integration, API, concurrency, browser. SQLite always; PostgreSQL too
# when MPP_TEST_DATABASE_URL is set (.ci/run sets it).
# The fault test restarts PostgreSQL, so it runs alone, after everything else.
test: install-dev lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -q --ignore=tests/faults
	$(BIN)/python -m pytest -q tests/faults

bench: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python bench/issue_and_call.py
	$(BIN)/python bench/display_fanout.py
	$(BIN)/python bench/stats_scale.py
	$(BIN)/python bench/monday_peak.py
