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
# test support (not shipped): the harnesses the tests, benchmarks and screenshots share
PACKAGES += testkit
SRC_DIRS := $(foreach p,$(PACKAGES),$(p)/src)
export PYTHONUNBUFFERED := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
# MLflow reads only "true" in DO_NOT_TRACK; its telemetry client also unsets a session variable
# from a background thread, which raced with tests restoring the environment (KeyError)
export MLFLOW_DISABLE_TELEMETRY := true
# Python keeps the bytecode it compiles (__pycache__, git-ignored). Where the environment sets
# PYTHONDONTWRITEBYTECODE (some sandboxes and CI images do), every process that imports the edip
# sources compiled them again (~0.2 CPU-s each; `make test` starts hundreds: xdist workers, API
# servers, the simulator, CLI calls) and pytest re-did its assertion rewriting in every worker.
unexport PYTHONDONTWRITEBYTECODE

MLFLOW_PORT ?= 5000
export MLFLOW_TRACKING_URI ?= http://127.0.0.1:$(MLFLOW_PORT)
# the demo trains up to 2020-10-03, promotes on the 28 days after (data no model saw), then the
# loop runs DEMO_LIVE_DAYS days from DEMO_LIVE_START
DEMO_LIVE_START ?= 2020-11-01
DEMO_LIVE_DAYS ?= 28
DEMO_TRAIN_END ?= 2020-10-03
DEMO_DATA_DIR ?= data/demo
# "now" of `make api-up` on the full sample (the sample ends on 2020-12-31; unset it for live data)
DEMO_NOW ?= 2021-01-01T00:00:00+01:00
DEMO_DL_ARGS ?= --models tcn --epochs 6 --backtest-days 14 --param tcn.batch_size=32
# the intraday re-issue model (edip-load-fr-intraday@champion): small, trained on the last year
DEMO_INTRADAY_ARGS ?= --start 2019-10-01 --backtest-days 14 --param lightgbm_intraday.n_estimators=200
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
	$(BIN)/lint-imports  # the README's "The shape" (contracts: root pyproject.toml)
	$(BIN)/python scripts/check_sizes.py  # modules ≤ 420 lines, functions ≤ 60 unless a docstring says why

typecheck: setup
	$(BIN)/mypy $(SRC_DIRS) bench scripts 05_monitoring_dashboard/scripts

# One pytest run per package: each package's tests/ is its own `tests` package (OpenSTEF style),
# so they are collected separately; the benchmarks' smoke tests run with the pipeline's. `make
# test` is CPU-bound on 2 cores (about 1,900 CPU-seconds in all), so the aim is that no core idles:
# the runs go two at a time (PYTEST_JOBS), the API's first (its schemathesis run is the longest
# test), typecheck (one process) while a suite with two workers fills the other slot, the short
# lint last. Every suite runs with pytest-xdist workers (PYTEST_WORKERS; each worker starts its own
# session servers, so the dashboard's conftest keeps its tests on the session platform on one
# worker, its demo path on the other). Within a run the longest test files are handed out first
# (edip_testkit.ordering: measured in the last run, else `slow`-marked ones; --no-loadscope-reorder
# keeps that order). Output stays grouped per run; every run prints its ten slowest tests
# (--durations=10, root pyproject.toml). PYTEST_ARGS reaches every run.
PYTEST_JOBS ?= 2
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
XDIST = -n $(PYTEST_WORKERS) --no-loadscope-reorder --dist loadfile
PYTEST_RUNS := pytest-api pytest-ml pytest-pipeline pytest-dashboard pytest-dl
.PHONY: $(PYTEST_RUNS)
pytest: setup
	@$(MAKE) --no-print-directory -j$(PYTEST_JOBS) --output-sync=target $(PYTEST_RUNS)

pytest-pipeline:
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS) 01_data_pipeline/tests bench
pytest-ml:
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS) 02_ml_forecast/tests
pytest-dl:
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS) 03_dl_forecast/tests
pytest-api:
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS) 04_mlop_api/tests
pytest-dashboard:
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS) 05_monitoring_dashboard/tests

test: setup
	@$(MAKE) --no-print-directory -j$(PYTEST_JOBS) --output-sync=target $(wordlist 1,3,$(PYTEST_RUNS)) \
	  typecheck $(wordlist 4,5,$(PYTEST_RUNS)) lint

# The whole platform on the bundled sample, run by its own daily loop: a Prefect server, the
# store as it was on the morning of DEMO_LIVE_START (ingest + features as Prefect flows), ML + DL
# trained up to the day before and promoted through the gate, the API on the loop's clock file,
# then `edip live simulate`: DEMO_LIVE_DAYS days of the real loop deployments (ingest, issue-forecast,
# sync-actuals, update, weekly retrain, alerts), day by day, each as if it were today; the dashboard
# shows the history the loop produced. Everything of the demo lives under DEMO_DATA_DIR (wiped first).
demo: export PREFECT_API_URL := $(PREFECT_API_URL)
demo: export EDIP_DATA_DIR := $(abspath $(DEMO_DATA_DIR))
demo: export EDIP_CLOCK_FILE := $(abspath $(DEMO_DATA_DIR))/live_clock
demo: export EDIP_LIVE_API_URL := $(EDIP_API_URL)
demo: export EDIP_LIVE_RETRAIN_HISTORY_DAYS := 365
demo: export EDIP_LIVE_RETRAIN_BACKTEST_DAYS := 7
# every line below is a phase, timed (scripts/timed_shell.sh) and listed at the end
demo: SHELL := $(CURDIR)/scripts/timed_shell.sh
demo: export EDIP_PHASE_LOG := $(CURDIR)/logs/demo-phases.tsv
demo: setup
	@mkdir -p logs reports && : >$(EDIP_PHASE_LOG)
	@for s in dashboard api mlflow; do scripts/service.sh stop $$s; done
	rm -rf $(DEMO_DATA_DIR) && mkdir -p $(DEMO_DATA_DIR)
	@$(MAKE) --no-print-directory prefect-up
	$(BIN)/edip ingest --source sample --end $(DEMO_LIVE_START)
	$(BIN)/edip features --end $(DEMO_TRAIN_END)
	$(BIN)/edip data status
	$(BIN)/edip eda --out reports/
	@PY=$(BIN)/python scripts/service.sh start mlflow $(MLFLOW_TRACKING_URI)/health \
	  $(BIN)/edip mlflow --port $(MLFLOW_PORT) --backend-store-uri sqlite:///$(DEMO_DATA_DIR)/mlflow.db \
	  --artifacts-destination $(DEMO_DATA_DIR)/mlartifacts
	$(BIN)/edip train ml --end $(DEMO_TRAIN_END) --report-dir reports/ml
	$(BIN)/edip promote
	$(BIN)/edip train intraday --end $(DEMO_TRAIN_END) $(DEMO_INTRADAY_ARGS) --report-dir reports/intraday
	$(BIN)/edip train dl $(DEMO_DL_ARGS) --end $(DEMO_TRAIN_END) --report-dir reports/dl
	$(BIN)/edip promote
	@PY=$(BIN)/python scripts/service.sh start api $(EDIP_API_URL)/ready \
	  $(BIN)/edip serve --host 127.0.0.1 --port $(API_PORT)
	$(BIN)/edip live simulate --start $(DEMO_LIVE_START) --days $(DEMO_LIVE_DAYS)
	$(BIN)/edip live status
	@EDIP_REPLAY_NOW=$$(cat $(DEMO_DATA_DIR)/live_clock) $(MAKE) --no-print-directory dashboard-up
	@echo
	@echo "Prefect UI:      http://127.0.0.1:$(PREFECT_PORT)   (the loop's flow runs)"
	@echo "MLflow UI:       $(MLFLOW_TRACKING_URI)"
	@echo "API docs:        $(EDIP_API_URL)/docs"
	@echo "Dashboard:       http://127.0.0.1:$(DASHBOARD_PORT)   (why each forecast: /why)"
	@echo "Reports:         reports/eda.html, reports/ml/, reports/dl/"
	@echo "Logs:            logs/        (make demo-stop stops everything)"
	@$(SHELL) report $(EDIP_PHASE_LOG)

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

