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
DEMO_REPLAY_START ?= 2020-12-04
DEMO_REPLAY_END ?= 2020-12-31
# "now" for the API and the dashboard: the sample ends on 2020-12-31 (unset it for live data)
DEMO_NOW ?= 2021-01-01T00:00:00+01:00
DEMO_DL_ARGS ?= --models tcn --epochs 6 --backtest-days 14 --param tcn.batch_size=32
PREFECT_PORT ?= 4200
API_PORT ?= 8000
DASHBOARD_PORT ?= 8501
PREFECT_API_URL ?= http://127.0.0.1:$(PREFECT_PORT)/api
export EDIP_API_URL ?= http://127.0.0.1:$(API_PORT)

.PHONY: setup setup-browser test lint typecheck pytest demo demo-stop prefect-up mlflow-up api-up dashboard-up screenshots lock bench dvc-repro clean help

help:
	@echo "make demo | make test | make setup | make lock | make bench | make dvc-repro | make clean"

$(STAMP): $(CONSTRAINTS) $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) $(foreach p,$(PACKAGES),-e "$(p)[dev]")
	@touch $@

setup: $(STAMP)

# Debian's Chromium for the dashboard's browser tests (Playwright drives it via executable_path).
# Needs root or sudo; a no-op when /usr/bin/chromium exists. Tests skip, saying why, without it.
setup-browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; \
	else SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null \
	  && echo "chromium installed: $$(command -v chromium)"; fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy $(SRC_DIRS) bench scripts 05_monitoring_dashboard/scripts

# One pytest run per package: each package's tests/ is its own `tests` package (OpenSTEF style),
# so they are collected separately; the benchmarks' smoke tests run with the pipeline's. The runs
# go two at a time (PYTEST_JOBS): much of their time is spent waiting on the real servers they
# start (MLflow, uvicorn, Streamlit, Chromium), not on the CPU. Output stays grouped per run.
PYTEST_JOBS ?= 2
PYTEST_RUNS := pytest-pipeline pytest-ml pytest-api pytest-dl pytest-dashboard
.PHONY: $(PYTEST_RUNS)
pytest: setup
	@$(MAKE) --no-print-directory -j$(PYTEST_JOBS) --output-sync=target $(PYTEST_RUNS)

pytest-pipeline:
	$(BIN)/pytest 01_data_pipeline/tests bench
pytest-ml:
	$(BIN)/pytest 02_ml_forecast/tests
pytest-dl:
	$(BIN)/pytest 03_dl_forecast/tests
pytest-api:
	$(BIN)/pytest 04_mlop_api/tests
pytest-dashboard:
	$(BIN)/pytest 05_monitoring_dashboard/tests

test: lint typecheck pytest

# The whole platform on the bundled sample: Prefect server (flow runs in its UI), ingest + features
# as Prefect flows, ML models tracked in MLflow and the best promoted champion, then one small DL
# model that must pass the same promotion gate against it, the API serving the champion (ONNX),
# four weeks replayed through the API (forecasts + actuals logged), the dashboard.
demo: export PREFECT_API_URL := $(PREFECT_API_URL)
demo: setup
	@mkdir -p logs reports
	@$(MAKE) --no-print-directory prefect-up
	$(BIN)/edip ingest --source sample
	$(BIN)/edip features
	$(BIN)/edip data status
	$(BIN)/edip eda --out reports/
	@$(MAKE) --no-print-directory mlflow-up
	$(BIN)/edip train ml --end $(DEMO_TRAIN_END) --report-dir reports/ml
	$(BIN)/edip promote
	$(BIN)/edip train dl $(DEMO_DL_ARGS) --end $(DEMO_TRAIN_END) --report-dir reports/dl
	$(BIN)/edip promote
	@$(MAKE) --no-print-directory api-up
	$(BIN)/edip replay --start $(DEMO_REPLAY_START) --end $(DEMO_REPLAY_END) --api-url $(EDIP_API_URL)
	@$(MAKE) --no-print-directory dashboard-up
	@echo
	@echo "Prefect UI:      http://127.0.0.1:$(PREFECT_PORT)"
	@echo "MLflow UI:       $(MLFLOW_TRACKING_URI)"
	@echo "API docs:        $(EDIP_API_URL)/docs"
	@echo "Dashboard:       http://127.0.0.1:$(DASHBOARD_PORT)"
	@echo "Reports:         reports/eda.html, reports/ml/, reports/dl/"
	@echo "Logs:            logs/        (make demo-stop stops everything)"

# Background services of the demo (scripts/service.sh: pid + log under logs/, waits for health).
prefect-up: setup
	@PY=$(BIN)/python scripts/service.sh start prefect http://127.0.0.1:$(PREFECT_PORT)/api/health \
	  $(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

mlflow-up: setup
	@mkdir -p mlruns
	@PY=$(BIN)/python scripts/service.sh start mlflow $(MLFLOW_TRACKING_URI)/health \
	  $(BIN)/edip mlflow --port $(MLFLOW_PORT)

api-up: setup
	@PY=$(BIN)/python scripts/service.sh start api $(EDIP_API_URL)/ready \
	  env EDIP_REPLAY_NOW=$(DEMO_NOW) $(BIN)/edip serve --host 127.0.0.1 --port $(API_PORT)

dashboard-up: setup
	@PY=$(BIN)/python scripts/service.sh start dashboard http://127.0.0.1:$(DASHBOARD_PORT)/_stcore/health \
	  $(BIN)/edip dashboard --port $(DASHBOARD_PORT)

# README screenshots of every dashboard page (starts its own platform; --api-url uses a running API)
screenshots: setup setup-browser
	$(BIN)/python 05_monitoring_dashboard/scripts/screenshots.py

demo-stop:
	@for s in dashboard api mlflow prefect; do scripts/service.sh stop $$s; done

# Re-pin every dependency after changing a pyproject.toml (commit the result).
lock: setup
	$(BIN)/python -m pip list --format=freeze --exclude-editable \
	  | sed -e 's/^torch==\([0-9.]*\)+cpu$$/torch==\1/' > $(CONSTRAINTS)

bench: setup
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/ml.py
	$(BIN)/python bench/dl.py
	$(BIN)/python bench/api.py

dvc-repro: setup
	$(BIN)/dvc repro

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Containers (README "Shipping"): build the four images, then the whole stack up in Docker, tested
# end to end and torn down. Needs a Docker daemon (scripts/docker_daemon.sh starts one as root);
# without a registry the base images are built from Debian packages (scripts/build_base_images.sh).
.PHONY: images test-images bench-images
images:
	scripts/build_images.sh

# BENCH_IMAGES_ARGS=--no-pip skips the plain pip install the serving image is compared with
BENCH_IMAGES_ARGS ?=
test-images: images setup
	$(BIN)/pytest -p no:cacheprovider tests/images -v -s
	$(BIN)/python bench/images.py $(BENCH_IMAGES_ARGS)

bench-images: setup
	$(BIN)/python bench/images.py

