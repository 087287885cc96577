# actorflow developer entry points.  `make help` lists targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed
RUN_STAMP  := $(VENV)/.installed-run
CHROMIUM   := /usr/bin/chromium
CURL       := /usr/bin/curl
PYTEST_ARGS ?=
# apt-get needs root; CI runs as root, a developer may not.
SUDO       := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help venv run test bench soak lint clean

help:
	@echo "make venv   - create $(VENV) and install actorflow[dev] (idempotent)"
	@echo "make run    - install actorflow (no dev tools) and serve the API; ACTORFLOW_HOST,"
	@echo "              ACTORFLOW_PORT, ACTORFLOW_DATABASE_URL... (default 127.0.0.1:8000,"
	@echo "              sqlite:///actorflow.db)"
	@echo "make test   - run pytest against a throwaway PostgreSQL (PYTEST_ARGS=...);"
	@echo "              installs Debian's chromium for the browser tests if missing"
	@echo "make bench  - run the benchmarks (python -m tests.bench), LangGraph's W3 beside"
	@echo "              actorflow's (installed in $(VENV)/peers)"
	@echo "make soak   - a real server on PostgreSQL under load with faults, a database restart"
	@echo "              and a server kill (SOAK_SECONDS=300 by default; soak_* in results.json)"
	@echo "make lint   - ruff + mypy"
	@echo "make clean  - remove the venv, caches and build artefacts"

venv: $(STAMP)

$(BIN)/python:
	python3.11 -m venv $(VENV) || { echo "python3.11 unavailable; falling back to python3" >&2; rm -rf $(VENV); python3 -m venv $(VENV); }

# The dev install is a superset of the serving one, so it satisfies `make run` too.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@ $(RUN_STAMP)

# Only what serving needs: no pytest, mypy, ruff or browser driver.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	@touch $@

# Debian packages the tests drive: chromium (the browser test of /docs) and curl (the
# README's curl lines). Installed only when missing.
$(CHROMIUM) $(CURL):
	@echo "make: installing Debian's $(notdir $@) for the tests" >&2
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(notdir $@)

# Flags are left out on purpose: `actorflow serve` reads ACTORFLOW_* from the
# environment (`ACTORFLOW_PORT=9000 make run` or `make run ACTORFLOW_PORT=9000`), and its
# defaults are 127.0.0.1:8000 and sqlite:///actorflow.db.
run: $(RUN_STAMP)
	exec $(BIN)/actorflow serve

# Starts a throwaway PostgreSQL cluster (.ci/pg.sh) unless ACTORFLOW_TEST_POSTGRES_URL is
# already set, exports ACTORFLOW_TEST_POSTGRES_URL and ACTORFLOW_TEST_PG_CTL (a pg_ctl
# command prefix tests can use to stop/restart the server), runs pytest, and always stops
# the cluster again while preserving pytest's exit status.
test: $(STAMP) $(CHROMIUM) $(CURL)
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

# LangGraph, measured in the same run (tests/bench/peers.py), in a virtualenv of its own.
# Without a registry it is left out of the figures, not the bench.
PEERS_STAMP := $(VENV)/peers/.installed
$(PEERS_STAMP): tests/bench/peers-requirements.txt | $(BIN)/python
	@{ python3.11 -m venv $(VENV)/peers 2>/dev/null || python3 -m venv $(VENV)/peers; } && \
	$(VENV)/peers/bin/python -m pip install -q -r tests/bench/peers-requirements.txt && \
	touch $@ || echo "make bench: LangGraph could not be installed; its figures are left out" >&2

bench: $(STAMP) $(PEERS_STAMP)
	$(BIN)/python -m tests.bench

# Not part of `make test`: minutes long. Starts its own PostgreSQL (.ci/pg.sh, own state
# file) unless ACTORFLOW_TEST_POSTGRES_URL and ACTORFLOW_TEST_PG_CTL are set.
SOAK_SECONDS ?= 300
soak: $(STAMP)
	$(BIN)/python -m tests.bench.soak --seconds $(SOAK_SECONDS)

# Runs both tools even if the first one fails; fails if either does.
lint: $(STAMP)
	@rc=0; \
	echo "+ ruff check ."; $(BIN)/ruff check . || rc=1; \
	echo "+ mypy"; $(BIN)/mypy || rc=1; \
	exit $$rc

clean:
	@if [ -x .ci/pg.sh ]; then .ci/pg.sh stop || true; fi
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache tests/artifacts
	rm -f actorflow.db actorflow.db-journal actorflow.db-wal actorflow.db-shm
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
