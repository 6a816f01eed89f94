"""A real platform for the loop's tests and benchmark: a sample store cut at the simulation's
start, MLflow with a champion trained before it, a Prefect server, the API on the clock file.

Built on :mod:`edip_testkit.platform` (it starts MLflow and the API); outside ``edip_ml``, which
must not import ``edip_api``. Everything is real: no mock.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from edip_pipeline.calendar import PARIS
from edip_pipeline.store import Store

#: small challengers: the loop is under test, not the accuracy
RETRAIN_PARAMS = {"lightgbm": {"n_estimators": 40, "learning_rate": 0.1, "num_leaves": 31}}
HISTORY_DAYS = 180


@dataclass
class LoopPlatform:
    store: Store
    registry: Any  # edip_testkit.platform.Registry
    api: Any  # edip_testkit.platform.RunningApi
    clock_file: Path
    env: dict[str, str]  # what a simulator process needs
    root: Path

    def simulate_command(self, start: str, days: int, *extra: str) -> list[str]:
        return [sys.executable, "-m", "edip_ml.live", "simulate", "--start", start,
                "--days", str(days), "--clock-file", str(self.clock_file), *extra]  # fmt: skip

    def run_simulation(self, start: str, days: int, *extra: str, timeout_s: float = 900) -> str:
        """The simulator as its own process (the "worker"); its output, raising on failure."""
        done = subprocess.run(
            self.simulate_command(start, days, *extra),
            env={**os.environ, **self.env}, capture_output=True, text=True, timeout=timeout_s,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(
                f"simulate exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
            )
        return done.stdout


def cut_sample_store(data_dir: Path, until: pd.Timestamp) -> Store:
    """A store holding the bundled sample strictly before ``until`` (the real ingest)."""
    from edip_pipeline.config import Settings, load_params
    from edip_pipeline.ingest import ingest_dataset
    from edip_pipeline.sources.sample import SAMPLE_DATASET, sample_period

    params_file = Path(__file__).resolve().parents[4] / "params.yaml"
    settings = Settings(data_dir=data_dir, params_file=params_file)
    store = Store(data_dir, load_params(params_file), settings)
    report = ingest_dataset("sample", SAMPLE_DATASET, start=sample_period().start,
                            end=until, store=store, settings=settings)  # fmt: skip
    if report.error:
        raise RuntimeError(f"sample ingest failed: {report.error}")
    return store


def train_champion(store: Store, tracking_uri: str, end: str, model: str = "lightgbm") -> str:
    """A small real ``model`` (LightGBM) on the last ``HISTORY_DAYS`` before ``end``, champion."""
    from mlflow import MlflowClient

    from edip_ml.registry.tracking_server import configure
    from edip_ml.registry.versions import CHAMPION, REGISTERED_MODEL
    from edip_ml.training.train import train_models

    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    try:
        configure(tracking_uri)
        start = str((pd.Timestamp(end) - pd.Timedelta(days=HISTORY_DAYS)).date())
        result = train_models([model], start=start, end=end, store=store,
                              model_params=RETRAIN_PARAMS, backtest_days=7)[0]  # fmt: skip
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous
    if not result.ok or result.version is None:
        raise RuntimeError(f"training the test champion failed: {result.error}")
    MlflowClient(tracking_uri).set_registered_model_alias(
        REGISTERED_MODEL, CHAMPION, result.version
    )
    return result.version


@contextlib.contextmanager
def loop_platform(
    root: Path,
    start: str,
    prefect_api_url: str,
    *,
    extra_env: Mapping[str, str] | None = None,
    champion: str = "lightgbm",
) -> Iterator[LoopPlatform]:
    """Everything the loop needs, real, under ``root``; the simulation starts on Paris day
    ``start``, ``champion`` trained up to the day before."""
    from edip_testkit import platform as testing

    first = pd.Timestamp(start).normalize().tz_localize(PARIS).tz_convert("UTC")
    store = cut_sample_store(root / "data", first)
    clock_file = root / "data" / "live_clock"
    train_end = str((pd.Timestamp(start) - pd.Timedelta(days=1)).date())
    server = testing.start_mlflow(root / "mlflow")
    try:
        version = train_champion(store, server.url, train_end, champion)
        registry = testing.Registry(
            server.url, testing.DEFAULT_MODEL_NAME, version, server, root / "mlflow", [version]
        )
        api_env = testing.platform_env(store, registry, root / "edip_log.db", replay_now=None,
                                       EDIP_CLOCK_FILE=str(clock_file), PREFECT_API_URL=prefect_api_url)  # fmt: skip
        env = {
            **api_env,
            "EDIP_LIVE_RETRAIN_PARAMS": json.dumps(RETRAIN_PARAMS),
            "EDIP_LIVE_RETRAIN_BACKTEST_DAYS": "7",
            "EDIP_LIVE_RETRAIN_HISTORY_DAYS": str(HISTORY_DAYS),
            "EDIP_LIVE_PROMOTION_WINDOW_DAYS": "7",
            "EDIP_LIVE_PROMOTION_MAX_MAPE": "0.5",
            **(extra_env or {}),
        }
        from edip_pipeline import clock

        clock.set_clock(clock_file, first)
        with testing.running_api(api_env) as api:
            env["EDIP_LIVE_API_URL"] = api.url
            env["EDIP_LIVE_API_KEY"] = api.api_key
            env["EDIP_API_URL"] = api.url
            yield LoopPlatform(store, registry, api, clock_file, env, root)
    finally:
        server.stop()
