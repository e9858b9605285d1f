# Two commands do everything on a fresh machine:  `make tour` (the main job) and `make test` (all tests).
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)

.PHONY: setup browser-deps tour test test-fast lint format bench lab clean

$(STAMP): pyproject.toml
	@set -e; if [ ! -x $(PY) ]; then \
	  PY312=$$(scripts/find_python.sh); echo "creating $(VENV) with $$PY312"; \
	  $$PY312 -m venv $(VENV) || { echo "error: '$$PY312 -m venv' failed; on Debian/Ubuntu install python3.12-venv" >&2; exit 1; }; \
	fi
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[server,test,bench,lint,parallel]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

setup: $(STAMP)

# Debian's chromium for the real-browser test (Playwright drives /usr/bin/chromium; no browser download).
browser-deps:
	@scripts/install_chromium.sh

tour: setup
	$(PY) scripts/tour.py

test: setup browser-deps
	@set +e; $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

test-fast: setup
	$(PY) -m pytest -m "not browser and not slow" $(PYTEST_ARGS)

# ruff (lint + format check) on everything, mypy --strict on the package; zero findings.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup
	$(PY) -m benchmarks $(BENCH_ARGS)

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
