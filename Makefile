# Two commands do all set-up on a fresh machine with Python 3.11+:
#   make demo   creates .venv, installs Falaj, runs the end-to-end demo
#   make test   creates .venv, installs Falaj with every extra, runs lint, types, layering, tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Apache Airflow pins many packages, so it lives in its own venv, used only to load exported DAGs.
AIRFLOW := .venv-airflow/bin/airflow
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: demo test lint typecheck layers unit bench clean venv browser screenshots

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Falaj needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/falaj demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

$(AIRFLOW):
	PYTHON=$(PYTHON) bash scripts/setup-airflow-venv.sh

# The browser tests drive Debian's chromium through Playwright (Playwright's own browser download
# cannot be reached from CI machines): install it when missing; a no-op when it is there.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ]; then echo "chromium: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi

# Screenshots of every UI page at desktop and 420 px widths, into docs/screenshots (committed).
screenshots: $(STAMP) browser
	FALAJ_TEST_UI_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q \
		tests/e2e/test_ui_browser.py -k "every_page"

test: lint typecheck layers browser $(AIRFLOW)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# the fast inner loop: unit tests not marked slow (under a minute on a quiet 2-core machine);
# `make test` runs everything, slow tests included
unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q -m "not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .venv-airflow .venv-prefect .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
