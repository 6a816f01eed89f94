"""The intraday re-issue model end to end: trained on its protocol, logged, registered, crowned,
served by the real API (uvicorn, onnxruntime) at ``/v1/forecast/intraday`` — and, before it
exists, that route's documented fallback to the day-ahead champion (real MLflow, sample store)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from edip_ml.config import MLParams
from edip_ml.registry.versions import CHAMPION, load_version
from edip_ml.training.intraday import crown_challenger, train_intraday
from edip_pipeline.config import FeatureParams
from edip_pipeline.features import build_features
from edip_pipeline.store import Store

from .. import mlflow_server as fixtures

mlflow_server = fixtures.mlflow_server
tracking = fixtures.tracking
model_name = fixtures.model_name
sample_data_dir = fixtures.sample_data_dir
sample_store = fixtures.sample_store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ORIGIN = "2020-12-10T18:00:00+01:00"  # the D-1 18:00 re-issue of 12-11: to its end, 30 h
HORIZON = 30
SMALL = {"n_estimators": 40, "num_leaves": 15, "learning_rate": 0.1}


def _ask(api: Any, route: str) -> dict[str, Any]:
    with api.client() as c:
        r = c.get(route, params={"origin": ORIGIN, "horizon": HORIZON})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
def platform(
    tracking: str, sample_store: Store, model_name: str, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    """A day-ahead champion of ``model_name`` and the API serving it, no intraday model yet."""
    from edip_testkit.platform import platform_env, running_api, train_champion

    train_champion(sample_store, tracking, model_name=model_name, n_estimators=30)
    intraday_name = f"{model_name}-intraday"
    env = platform_env(sample_store, None, tmp_path / "log.db", MLFLOW_TRACKING_URI=tracking,
                       EDIP_MODEL_NAME=model_name, EDIP_INTRADAY_MODEL_NAME=intraday_name)  # fmt: skip
    with running_api(env, log_path=tmp_path / "api.log") as api:
        yield {"api": api, "store": sample_store, "day_ahead": model_name, "name": intraday_name}


def _train(store: Store, name: str) -> Any:
    params = MLParams().with_overrides(
        {
            "lightgbm_intraday": SMALL,
            "intraday": {"registered_model": name, "max_mape": 0.5},
            "backtest": {"baselines": [], "weather": "none"},
        }
    )
    results = train_intraday(
        start="2020-07-01", end="2020-11-30", store=store, params=params, backtest_days=7
    )
    assert [r.model for r in results] == ["lightgbm_intraday"]
    assert results[0].ok, results[0].error
    return results


def _served_once(api: Any, timeout_s: float = 90.0) -> dict[str, Any]:
    """The intraday answer once the API's poller loaded the intraday champion."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = _ask(api, "/v1/forecast/intraday")
        if body["model"]["name"] == "lightgbm_intraday" or time.monotonic() > deadline:
            return body
        time.sleep(1.0)


def test_intraday_is_trained_registered_and_served_else_the_day_ahead_answers(
    platform: dict[str, Any],
) -> None:
    api, store, name = platform["api"], platform["store"], platform["name"]
    # 1. no intraday model registered: the day-ahead champion answers, and says why
    day_ahead = _ask(api, "/v1/forecast")
    before = _ask(api, "/v1/forecast/intraday")
    assert before["model"]["name"] == day_ahead["model"]["name"] == "lightgbm"
    assert before["model"]["registered_model"] == platform["day_ahead"]
    assert "no intraday model" in before["model"]["reason"]
    assert name in before["model"]["reason"]
    assert day_ahead["model"]["reason"] is None
    p50 = [p["p50"] for p in day_ahead["points"]]
    assert [p["p50"] for p in before["points"]] == p50

    # 2. edip train intraday: its protocol, logged, registered under its own name, crowned
    results = _train(store, name)
    version = results[0].version
    client = MlflowClient()
    assert client.get_model_version_by_alias(name, CHAMPION).version == version
    run = client.get_run(str(results[0].run_id))
    assert run.data.tags["protocol"] == "intraday"
    assert not crown_challenger(results, name, max_mape=0.0)  # a gate it fails moves nothing
    assert client.get_model_version_by_alias(name, CHAMPION).version == version

    # 3. the API serves it (its poller), with onnxruntime, the short-lead columns built at the
    # origin: the same P50 as the registered ONNX graph on the pipeline's features
    served = _served_once(api)
    model = served["model"]
    assert (model["name"], model["version"]) == ("lightgbm_intraday", version), model
    assert model["registered_model"] == name
    assert model["reason"] is None
    onnx = load_version(str(version), model_name=name)
    fparams = FeatureParams.model_validate(onnx.feature_params)
    assert fparams.shape_features
    assert fparams.recent_error_features  # the latest-known-error columns, built at the origin
    targets = pd.DatetimeIndex([p["target_time"] for p in served["points"]])
    ft = build_features(store, pd.Timestamp(ORIGIN), targets, fparams)
    expected = onnx.predict_matrix(ft.frame[onnx.feature_names].to_numpy(dtype=np.float32))
    got = np.array([p["p50"] for p in served["points"]])
    np.testing.assert_allclose(got, expected[:, 1], rtol=1e-5)
    assert "load_profile_1d" in onnx.feature_names
    assert "load_error_1d_3h" in onnx.feature_names
    assert not np.allclose(got, p50)  # another model than the day-ahead's
    assert len(got) == HORIZON
