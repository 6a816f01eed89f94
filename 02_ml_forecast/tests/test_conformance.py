"""The conformance suite (:mod:`edip_testkit.conformance`) over every model family of the
registry: fit, ordered quantiles, ONNX parity, MLflow log and load, online state round-trip."""

from __future__ import annotations

import pandas as pd
import pytest

from edip_ml.config import MLParams
from edip_ml.models import MODELS, make_model
from edip_pipeline.contract import RTE_FEATURE
from edip_testkit.conformance import check_forecaster, conformance_frame

from . import mlflow_server as fixtures

mlflow_server = fixtures.mlflow_server
tracking = fixtures.tracking
model_name = fixtures.model_name

#: small enough to fit every family in seconds; the combination over a tree and an online expert
SMALL = MLParams().with_overrides(
    {
        "rf": {"n_estimators": 10, "max_depth": 6, "n_jobs": 1},
        "xgboost": {"n_estimators": 20, "max_depth": 3, "n_jobs": 1},
        "lightgbm": {"n_estimators": 20, "num_leaves": 7, "n_jobs": 1},
        "lightgbm_intraday": {"n_estimators": 20, "num_leaves": 7, "n_jobs": 1},
        "gam_kalman": {"warmup_days": 20},
        "combination": {
            "experts": ["lightgbm", "gam_kalman", "same_hour_last_week"],
            "rte_source": "entsoe",
        },
    }
)


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, pd.Series]:
    return conformance_frame()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_family_conforms(
    name: str, frame: tuple[pd.DataFrame, pd.Series], tracking: str, model_name: str
) -> None:
    X, y = frame
    if name == "combination_rte":  # RTE's D-1 forecast is its input column (store-read when served)
        X = X.assign(**{RTE_FEATURE: y.to_numpy() * 1.01})
    model = check_forecaster(lambda: make_model(name, SMALL), X, y, model_name=model_name)
    assert model.name == name
