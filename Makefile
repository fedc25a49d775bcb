# LabelVault: `make run` starts a server, `make test` runs every test.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# pytest-xdist workers for `make test` (one per core here; each has its own databases).
TEST_WORKERS ?= 2

.PHONY: run test install install-test services lint format bench bench-peers bench-load bench-rpo bench-webhooks bench-memory clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

## Start LabelVault on the embedded default (SQLite + local disk + in-process worker).
run: install
	$(BIN)/labelvault serve

## Start the services tests use (PostgreSQL, Redis) if they are down.
services:
	bash scripts/ensure-services.sh

## Install test extras, start services, run the whole suite on SQLite and PostgreSQL.
test: install-test services
	bash scripts/ensure-test-tools.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	LABELVAULT_REQUIRE_POSTGRES=1 DATUMARO_PYTHON=$(CURDIR)/.venv-datumaro/bin/python \
	  $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

BENCH_ARGS ?=
## LabelVault alone: annotation bulk paths, then the workloads and load test (N=1000 K=100;
## BENCH_ARGS="--postgres" or "-n 50 -k 10").
bench: install-test services
	$(BIN)/python bench/annotations.py
	$(BIN)/python bench/activity.py
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## Side by side with Label Studio (installed into bench/.peers/, git-ignored).
bench-peers: install-test services
	$(BIN)/python bench/peers.py $(BENCH_ARGS)

## 50, 200, 500 simulated annotators on (a) one embedded server and (b) 2 servers + 2 workers
## on PostgreSQL, Redis (LABELVAULT_BENCH_REDIS, default db 15, flushed) and moto's S3.
bench-load: install-test services
	$(BIN)/python bench/load.py $(BENCH_ARGS)

## Seconds of work lost when a node dies (kill -9, data dir gone), per storage and database.
bench-rpo: install-test services
	PYTHONPATH=src:. $(BIN)/python bench/rpo.py $(BENCH_ARGS)

## Annotation save cost with webhooks off and on (receiver up, receiver down), same run.
bench-webhooks: install-test services
	PYTHONPATH=src $(BIN)/python bench/webhooks.py $(BENCH_ARGS)

## Every export, import, backup and restore at 1× and 5× the data: time and peak RSS, and
## the scale curves in docs/memory-scale.png (BENCH_ARGS="--postgres" for PostgreSQL).
bench-memory: install-test services
	PYTHONPATH=$(CURDIR)/src $(BIN)/python bench/memory.py --json bench/results/memory.json $(BENCH_ARGS)
	$(BIN)/python bench/plot_memory.py bench/results/memory.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
