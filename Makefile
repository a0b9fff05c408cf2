# The two commands of the README: `make demo` and `make test`.
# Both work in a virtual environment of their own (VENV, `.venv` by default), built on first use
# from the project's files only; CI points VENV at a fresh temporary folder.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2

.PHONY: install install-dev demo test test-hours lint bench

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
	# Known vulnerabilities of the installed packages (needs the PyPI advisory service; offline
	# it reports each package as "could not be audited" and passes).
	$(BIN)/pip-audit --progress-spinner off --skip-editable

# The whole suite: unit, integration, API, concurrency, browser. SQLite always; PostgreSQL too
# when MPP_TEST_DATABASE_URL is set (.ci/run sets it).
# The fault test restarts PostgreSQL, so it runs alone, after everything else.
test: install-dev lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -q --durations=30 --ignore=tests/faults
	$(BIN)/python -m pytest -q tests/faults

# The in-process tests with the clock set where a day changes in one zone and not in another:
# midnight WIT (15.00 UTC), WITA (16.00 UTC), WIB (17.00 UTC), and just before midnight UTC.
HOURS ?= 2026-12-01T15:05:00Z 2026-12-01T16:05:00Z 2026-12-01T17:05:00Z 2026-12-01T23:55:00Z
test-hours: install-dev
	for t in $(HOURS); do \
	  echo "== clock at $$t"; \
	  MPP_TEST_NOW=$$t $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -m "not slow and not browser" \
	    tests/unit tests/api tests/integration || exit 1; \
	done

bench: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python bench/issue_and_call.py
	$(BIN)/python bench/display_fanout.py
	$(BIN)/python bench/stats_scale.py
	$(BIN)/python bench/monday_peak.py
