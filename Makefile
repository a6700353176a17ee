# socialhub: `make demo` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
# Real labelled tweets (Davidson et al. 2017) for `make eval`, read in place, never copied in.
DATASETS ?= $(or $(SOCIALHUB_DATASETS),../shared/datasets)

.PHONY: help install demo demo-reset browser-deps postgres-deps redis-deps media-deps test test-postgres conformance bench bench-quick check eval train clean

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

demo: install media-deps  ## run the whole pipeline locally and print what happened (media-deps first: it may install tesseract-ocr and ffmpeg, and says so)
	$(VENV)/bin/socialhub demo

demo-reset:  ## forget the demo's state (.demo/)
	rm -rf .demo

# The browser tests (tests/ui) drive Debian's chromium. Installing it is this target's job alone, and it says
# what it will install before it does; the tests themselves never install anything (they skip, naming this target).
BROWSER_PKGS ?= chromium
browser-deps:  ## install Debian's chromium for the browser tests (prints what apt-get will do first)
	@$(SHELL) scripts/apt_deps.sh browser-deps "$(BROWSER_PKGS)" "chromium chromium-browser google-chrome" \
		"the browser tests need a headless Chromium" "the browser tests (tests/ui)"

postgres-deps:  ## install Debian's postgresql for the PostgreSQL end-to-end test and the benchmarks (says so first)
	@if bash scripts/ensure_postgres.sh --no-install >/dev/null 2>&1; then \
		echo "postgres-deps: PostgreSQL's server binaries are installed ($$(bash scripts/ensure_postgres.sh --no-install)); nothing to do"; \
	else \
		echo "postgres-deps: the PostgreSQL end-to-end test needs PostgreSQL's server binaries (a private throw-away cluster on 127.0.0.1;"; \
		echo "  the system cluster is never used). Installing Debian's postgresql: apt-get install -y --no-install-recommends postgresql"; \
		bash scripts/ensure_postgres.sh || echo "postgres-deps: not installed (see above): tests/e2e_postgres will be skipped"; \
	fi

# The CeleryExecutor end-to-end test (tests/e2e_postgres) starts a private, throw-away redis-server on
# 127.0.0.1 as Celery's broker. Installing Debian's redis-server is this target's job alone, and it says
# what it installs; the test itself never installs anything (it skips, naming this target). The Debian
# package also enables a system redis service; the test never uses it (its own server, its own port).
REDIS_PKGS ?= redis-server
redis-deps:  ## install Debian's redis-server for the CeleryExecutor end-to-end test (prints what apt-get will do first)
	@$(SHELL) scripts/apt_deps.sh redis-deps "$(REDIS_PKGS)" redis-server \
		"the CeleryExecutor test needs a Redis server as Celery's broker" "the CeleryExecutor test (tests/e2e_postgres)"

# Media (issue 16): OCR reads text in images with Debian's tesseract-ocr (English data), and video keyframes
# are decoded with Debian's ffmpeg. Installing them is this target's job alone, and it says what it installs;
# without them media is still captured and PDQ-hashed, OCR and video frames are recorded as unavailable.
MEDIA_PKGS ?= tesseract-ocr tesseract-ocr-eng ffmpeg
media-deps:  ## install Debian's tesseract-ocr and ffmpeg for OCR and video keyframes (prints what apt-get will do first)
	@if command -v tesseract >/dev/null && command -v ffmpeg >/dev/null; then \
		echo "media-deps: tesseract ($$(command -v tesseract)) and ffmpeg ($$(command -v ffmpeg)) are installed; nothing to do"; \
	elif ! command -v apt-get >/dev/null; then \
		echo "media-deps: no apt-get here: install tesseract-ocr and ffmpeg yourself, or OCR and video keyframes are skipped"; \
	elif [ "$$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then \
		echo "media-deps: tesseract-ocr/ffmpeg are missing and installing them needs root: run 'sudo make media-deps'"; \
		echo "  (until then OCR and video keyframes are recorded as unavailable, and their tests are skipped)"; \
	else \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		echo "media-deps: OCR and video keyframes need Debian's $(MEDIA_PKGS). Installing them as root:"; \
		echo "  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends $(MEDIA_PKGS)"; \
		if $$SUDO apt-get update -qq; then \
			echo "media-deps: apt-get says it will change these packages:"; \
			$$SUDO apt-get install -s --no-install-recommends $(MEDIA_PKGS) | grep -E '^(Inst|[0-9]+ upgraded)' | sed 's/^/  /'; \
		fi; \
		if DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(MEDIA_PKGS); then \
			echo "media-deps: installed $$(command -v tesseract || echo '(tesseract not found)') and $$(command -v ffmpeg || echo '(ffmpeg not found)')"; \
		else \
			echo "media-deps: WARNING: installing $(MEDIA_PKGS) failed; OCR and video keyframe tests will be skipped"; \
		fi; \
	fi

test: install browser-deps postgres-deps redis-deps media-deps  ## run the whole test suite (browser-deps, postgres-deps, redis-deps and media-deps first: they may install chromium, postgresql, redis-server, tesseract-ocr and ffmpeg, and say so)
	SOCIALHUB_AIRFLOW_TESTS=1 $(PY) -m pytest -q

test-postgres: install postgres-deps redis-deps  ## only the end-to-end run on PostgreSQL with the scheduler and Celery workers (postgres-deps, redis-deps first)
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

bench: install postgres-deps media-deps  ## print throughput and memory figures against a baseline (10,000 accounts: about an hour)
	$(PY) bench/run.py

bench-quick: install postgres-deps media-deps  ## the same benchmarks on small inputs (a few minutes)
	$(PY) bench/run.py --quick

clean:  ## remove the venv, caches and demo state
	rm -rf $(VENV) .demo .pytest_cache
