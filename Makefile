# EDIP — one entry point for set-up, tests and the demo.
#   make demo   the platform on the bundled sample (sets up .venv first when needed)
#   make test   ruff + mypy + pytest (sets up .venv first when needed)

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.edip-installed
CONSTRAINTS := requirements/constraints.txt
PACKAGES := 01_data_pipeline 02_ml_forecast 03_dl_forecast 04_mlop_api 05_monitoring_dashboard
SRC_DIRS := $(foreach p,$(PACKAGES),$(p)/src)
export PYTHONUNBUFFERED := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

MLFLOW_PORT ?= 5000
export MLFLOW_TRACKING_URI ?= http://127.0.0.1:$(MLFLOW_PORT)
# the demo trains up to the end of November 2020 and promotes on December, data no model saw
DEMO_TRAIN_END ?= 2020-11-30

.PHONY: setup test lint typecheck pytest demo demo-stop mlflow-up lock bench dvc-repro clean help

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

# One pytest run per package: each package's tests/ is its own `tests` package (OpenSTEF style),
# so they are collected separately; the benchmarks' smoke tests run with the pipeline's.
pytest: setup
	$(BIN)/pytest 01_data_pipeline/tests bench
	$(BIN)/pytest 02_ml_forecast/tests
	$(BIN)/pytest 03_dl_forecast/tests
	$(BIN)/pytest 04_mlop_api/tests
	$(BIN)/pytest 05_monitoring_dashboard/tests

test: lint typecheck pytest

demo: setup
	$(BIN)/edip ingest --source sample
	$(BIN)/edip features
	$(BIN)/edip data status
	$(BIN)/edip eda --out reports/
	$(MAKE) --no-print-directory mlflow-up
	$(BIN)/edip train ml --end $(DEMO_TRAIN_END) --report-dir reports/ml
	$(BIN)/edip promote
	@echo
	@echo "EDA report:      reports/eda.html"
	@echo "ML report:       reports/ml/"
	@echo "MLflow UI:       $(MLFLOW_TRACKING_URI)   (make demo-stop stops it)"

# Start the MLflow tracking server in the background (logs/mlflow.log) unless one answers.
mlflow-up: setup
	@mkdir -p logs mlruns
	@if $(BIN)/python -c "import urllib.request,sys; urllib.request.urlopen('$(MLFLOW_TRACKING_URI)/health', timeout=2)" 2>/dev/null; then \
	  echo "MLflow already up at $(MLFLOW_TRACKING_URI)"; \
	else \
	  nohup $(BIN)/edip mlflow --port $(MLFLOW_PORT) > logs/mlflow.log 2>&1 & echo $$! > logs/mlflow.pid; \
	  for i in $$(seq 1 90); do \
	    $(BIN)/python -c "import urllib.request; urllib.request.urlopen('$(MLFLOW_TRACKING_URI)/health', timeout=2)" 2>/dev/null && break; sleep 1; \
	  done; \
	  echo "MLflow server started at $(MLFLOW_TRACKING_URI) (pid $$(cat logs/mlflow.pid))"; \
	fi

demo-stop:
	@if [ -f logs/mlflow.pid ]; then kill $$(cat logs/mlflow.pid) 2>/dev/null || true; rm -f logs/mlflow.pid; echo "MLflow stopped"; fi

# Re-pin every dependency after changing a pyproject.toml (commit the result).
lock: setup
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > $(CONSTRAINTS)

bench: setup
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/ml.py

dvc-repro: setup
	$(BIN)/dvc repro

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
