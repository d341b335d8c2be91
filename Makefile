# Run `make help` for the list of targets.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.DEFAULT_GOAL := help

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## Create the virtualenv and install the service with its dev tools

run: install ## Run the service on its embedded default (private PostgreSQL + Redis under var/)
	$(PY) -m notifications_project.embedded run

test: install ## Run ruff, mypy, migration and schema checks and the test suite on throwaway servers
	$(PY) -m notifications_project.embedded test $(PYTEST_ARGS)

lint: install ## Lint, type-check and check the import contracts
	$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(PY) -m mypy core notifications_project orders dispatch templates && $(VENV)/bin/lint-imports --no-cache

fmt: install ## Format the code
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .

bench: install ## Run the benchmarks (results in bench/results/latest.json)
	$(PY) -m bench

soak: install ## Run the fault and API fuzz tests at soak sizes (not in make test; ~30 min); summary in bench/results/soak.json
	$(PY) -m tests.faults.soak $(PYTEST_ARGS)

.PHONY: help install run test lint fmt bench soak
