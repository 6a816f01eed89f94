# EDIP — one entry point for set-up, tests and the demo.
#   make demo   the platform on the bundled sample (sets up .venv first when needed)
#   make test   ruff + mypy + pytest (sets up .venv first when needed)

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.edip-installed
CONSTRAINTS := requirements/constraints.txt
PACKAGES := 01_data_pipeline
SRC_DIRS := $(foreach p,$(PACKAGES),$(p)/src)
export PYTHONUNBUFFERED := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: setup test lint typecheck pytest demo lock bench dvc-repro clean help

help:
	@echo "make demo | make test | make setup | make lock | make bench | make dvc-repro | make clean"

$(STAMP): $(CONSTRAINTS) $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) $(foreach p,$(PACKAGES),-e "$(p)[dev]")
	@touch $@

setup: $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy $(SRC_DIRS) bench scripts

pytest: setup
	$(BIN)/pytest

test: lint typecheck pytest

demo: setup
	$(BIN)/edip ingest --source sample
	$(BIN)/edip features
	$(BIN)/edip data status
	$(BIN)/edip eda --out reports/
	@echo "EDA report: reports/eda.html"

# Re-pin every dependency after changing a pyproject.toml (commit the result).
lock: setup
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > $(CONSTRAINTS)

bench: setup
	$(BIN)/python bench/pipeline.py

dvc-repro: setup
	$(BIN)/dvc repro

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
