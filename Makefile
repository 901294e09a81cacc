# The two commands: `make run` (app on the embedded default) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# Front-end packages (package.json / package-lock.json) from the npm registry into node_modules/.
ASSETS_STAMP := node_modules/.installed-$(shell cat package-lock.json | cksum | cut -d' ' -f1)
DEMO_CONTACTS ?= 2000
# Where `make run` serves the app: `PORT=8765 make run`, `HOST=0.0.0.0 make run`.
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: install run test lint bench chromium
.DEFAULT_GOAL := run

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

$(ASSETS_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) $(ASSETS_STAMP)

run: export DEBUG ?= true
run: export PORT := $(PORT)
run: export HOST := $(HOST)
run: export SITE_URL ?= http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(PORT)
run: export PATH := $(BIN):$(PATH)
run: install
	python manage.py migrate --noinput
	python manage.py ensure_demo_users
	python manage.py seed_demo --contacts $(DEMO_CONTACTS) --if-empty
	python manage.py seed_demo_definitions
	@echo "Nurture: $$SITE_URL/ (Ctrl-C stops web, worker and beat)"
	python -m config.devrun Procfile.dev

# Browser tests drive the system's Chromium (Debian package); install it when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# --reuse-db: the test databases are kept between runs, named after the migrations (conftest.py).
test: install chromium
	$(BIN)/pytest -n 2 --dist worksteal --reuse-db $(PYTEST_ARGS)

# ruff, then the architecture contract (.importlinter: apps in layers, no circles; docs/architecture.md).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

bench: install
	$(BIN)/python -m bench $(BENCH)
