# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
PYTEST_WORKERS ?= 2

.PHONY: install install-dev demo test lint bench

install:
	$(PYTHON) -m pip install -q -e .

install-dev:
	$(PYTHON) -m pip install -q -e '.[dev]'

demo: install
	mpp demo --reset

lint:
	ruff check .
	lint-imports

# The whole suite: unit, integration, API, concurrency, browser. SQLite always; PostgreSQL too
# when MPP_TEST_DATABASE_URL is set (.ci/run sets it).
# The fault test restarts PostgreSQL, so it runs alone, after everything else.
test: install-dev
	ruff check .
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -q --ignore=tests/faults
	$(PYTHON) -m pytest -q tests/faults

bench:
	$(PYTHON) bench/issue_and_call.py
	$(PYTHON) bench/display_fanout.py
	$(PYTHON) bench/stats_scale.py
	$(PYTHON) bench/monday_peak.py
