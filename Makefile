# Two commands matter: `make demo` and `make test`. Everything installs from here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLI_STAMP := $(VENV)/.installed-cli

.PHONY: demo test lint typecheck pytest install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The demo needs only the command line (the `cli` extra), not the test tools.
$(CLI_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[cli]'
	touch $(CLI_STAMP)

demo: $(CLI_STAMP)
	$(BIN)/qlara demo

lint: $(STAMP)
	$(BIN)/ruff check qlara_async tests benchmarks examples
	$(BIN)/ruff format --check qlara_async tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy --strict qlara_async tests/typing
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/python -m pytest -n auto --durations=20 --cov=qlara_async --cov-branch --cov-report=term --cov-fail-under=90

test: lint typecheck pytest

# Every benchmark, its tables written to benchmarks/RESULTS.md (about 10 minutes).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
