# socialhub: `make demo` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
# Real labelled tweets (Davidson et al. 2017) for `make eval`, read in place, never copied in.
DATASETS ?= $(or $(SOCIALHUB_DATASETS),../shared/datasets)

.PHONY: help install demo demo-reset test test-postgres conformance bench bench-quick check eval train clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(UV): | $(PY)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

$(STAMP): $(UV) requirements.txt pyproject.toml
	$(UV) pip install --quiet --python $(PY) -r requirements.txt
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)  ## create .venv with the pinned requirements and the package

demo: install  ## run the whole pipeline locally and print what happened
	$(VENV)/bin/socialhub demo

demo-reset:  ## forget the demo's state (.demo/)
	rm -rf .demo

test: install  ## run the whole test suite
	SOCIALHUB_AIRFLOW_TESTS=1 $(PY) -m pytest -q

test-postgres: install  ## only the end-to-end run on PostgreSQL with the scheduler (installs PostgreSQL if missing)
	SOCIALHUB_AIRFLOW_TESTS=1 $(PY) -m pytest -q tests/e2e_postgres

conformance: install  ## replay the real recorded platform responses through the connectors
	SOCIALHUB_CONFORMANCE_FIXTURES=$${SOCIALHUB_CONFORMANCE_FIXTURES:-../shared/fixtures} $(PY) -m pytest -q tests/conformance

check: install  ## ruff (incl. Airflow rules) and mypy over include/ and plugins/
	$(VENV)/bin/ruff check include plugins dags
	$(VENV)/bin/mypy --ignore-missing-imports --python-version 3.11 include/socialhub plugins

eval: install  ## evaluate the classifier: held-out labelled split, functional suite, real tweets (DATASETS=DIR)
	$(VENV)/bin/socialhub eval data/labelled/test.jsonl --max-errors 20
	$(VENV)/bin/socialhub eval --suite --max-errors 20
	@if [ -d "$(DATASETS)" ]; then \
		echo "$(VENV)/bin/socialhub eval --real $(DATASETS) --max-errors 20"; \
		$(VENV)/bin/socialhub eval --real "$(DATASETS)" --max-errors 20 && \
		echo "$(VENV)/bin/socialhub eval data/labelled/test.jsonl --suite --real $(DATASETS) --fairness-only" && \
		$(VENV)/bin/socialhub eval data/labelled/test.jsonl --suite --real "$(DATASETS)" --fairness-only; \
	else \
		echo "real-data evaluation skipped: $(DATASETS) does not exist (set DATASETS=DIR, the folder holding davidson2017/)"; \
	fi

train: install  ## retrain the classifier reproducibly: written posts + real negatives from DATASETS, thresholds on dev + real
	@test -d "$(DATASETS)" || { echo "error: $(DATASETS) does not exist: set DATASETS=DIR (the folder holding davidson2017/)"; exit 2; }
	$(PY) -m socialhub.classify.train data/labelled/train.jsonl --dev data/labelled/dev.jsonl --real "$(DATASETS)" --write-thresholds

bench: install  ## print throughput and memory figures against a baseline (10,000 accounts: about an hour)
	$(PY) bench/run.py

bench-quick: install  ## the same benchmarks on small inputs (a few minutes)
	$(PY) bench/run.py --quick

clean:  ## remove the venv, caches and demo state
	rm -rf $(VENV) .demo .pytest_cache
