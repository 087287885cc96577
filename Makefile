# actorflow developer entry points.  `make help` lists targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help venv run test bench lint clean

help:
	@echo "make venv   - create $(VENV) and install actorflow[dev] (idempotent)"
	@echo "make run    - serve the API on 127.0.0.1:8000 (sqlite:///actorflow.db)"
	@echo "make test   - run pytest against a throwaway PostgreSQL (PYTEST_ARGS=...)"
	@echo "make bench  - run the benchmarks (python -m tests.bench)"
	@echo "make lint   - ruff + mypy"
	@echo "make clean  - remove the venv, caches and build artefacts"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
		python3.11 -m venv $(VENV) || { echo "python3.11 unavailable; falling back to python3" >&2; rm -rf $(VENV); python3 -m venv $(VENV); }; \
	fi
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@

run: $(STAMP)
	$(BIN)/actorflow serve --host 127.0.0.1 --port 8000 --database-url sqlite:///actorflow.db

# Starts a throwaway PostgreSQL cluster (.ci/pg.sh) unless ACTORFLOW_TEST_POSTGRES_URL is
# already set, exports ACTORFLOW_TEST_POSTGRES_URL and ACTORFLOW_TEST_PG_CTL (a pg_ctl
# command prefix tests can use to stop/restart the server), runs pytest, and always stops
# the cluster again while preserving pytest's exit status.
test: $(STAMP)
	@set -euo pipefail; \
	if [ -z "$${ACTORFLOW_TEST_POSTGRES_URL:-}" ]; then \
		trap '.ci/pg.sh stop || true' EXIT; \
		.ci/pg.sh start >/dev/null; \
		eval "$$(.ci/pg.sh env)"; \
	else \
		echo "make test: using ACTORFLOW_TEST_POSTGRES_URL from the environment" >&2; \
	fi; \
	export ACTORFLOW_TEST_POSTGRES_URL; \
	echo "make test: ACTORFLOW_TEST_POSTGRES_URL=$$ACTORFLOW_TEST_POSTGRES_URL" >&2; \
	rc=0; \
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS) || rc=$$?; \
	exit $$rc

bench: $(STAMP)
	$(BIN)/python -m tests.bench

# Runs both tools even if the first one fails; fails if either does.
lint: $(STAMP)
	@rc=0; \
	echo "+ ruff check ."; $(BIN)/ruff check . || rc=1; \
	echo "+ mypy"; $(BIN)/mypy || rc=1; \
	exit $$rc

clean:
	@if [ -x .ci/pg.sh ]; then .ci/pg.sh stop || true; fi
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
	rm -f actorflow.db actorflow.db-journal actorflow.db-wal actorflow.db-shm
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
