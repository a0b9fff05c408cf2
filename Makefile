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
test: install-dev
	ruff check .
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -q

bench:
	$(PYTHON) bench/issue_and_call.py
