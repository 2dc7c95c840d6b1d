# Two entry points for a newcomer: `make run` (the main job on the embedded default) and
# `make test` (the test suite). Both create .venv with pip when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint setup

$(BIN)/pbml: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,ray]"
	touch $(BIN)/pbml

setup: $(BIN)/pbml

run: setup
	$(BIN)/pbml train configs/default.toml --out runs/default --overwrite

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
