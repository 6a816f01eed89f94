"""The Forecaster interface for every registered family: shapes, quantiles, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_ml.config import MLParams
from edip_ml.dataset import make_xy
from edip_ml.models import BASELINES, MODELS, EstimatorForecaster, make_model
from edip_ml.models.base import Forecaster, ModelError
from edip_pipeline.features import day_ahead_pairs
from edip_pipeline.store import Store

SMALL = MLParams().with_overrides(
    {
        "rf": {"n_estimators": 10, "max_depth": 6},
        "xgboost": {"n_estimators": 20, "max_depth": 3},
        "lightgbm": {"n_estimators": 20, "num_leaves": 7},
    }
)


@pytest.fixture(scope="module")
def xy(sample_store: Store) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """60 days of training rows and the following week to predict."""
    X, y, _ = make_xy(sample_store, day_ahead_pairs("2019-09-01", "2019-10-30"), SMALL, "none")
    Xt, _, _ = make_xy(sample_store, day_ahead_pairs("2019-10-31", "2019-11-06"), SMALL, "none")
    return X, y, Xt


def test_registry_names() -> None:
    assert set(MODELS) == {
        "rf", "xgboost", "lightgbm", "ridge", "same_hour_last_week", "same_hour_yesterday",
        "gam", "gam_kalman",
    }  # fmt: skip
    for name, cls in MODELS.items():
        assert cls.name == name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fit_predict_shapes_and_quantiles(name: str, xy: tuple) -> None:
    X, y, Xt = xy
    model = make_model(name, SMALL).fit(X, y)
    out = model.predict(Xt)
    assert isinstance(model, Forecaster)
    assert list(out.columns) == ["p10", "p50", "p90"]
    assert out.index.equals(Xt.index)
    assert model.feature_names == list(X.columns)
    assert out.notna().all().all()
    assert (out["p10"] <= out["p50"]).all()
    assert (out["p50"] <= out["p90"]).all()
    assert (out["p90"] - out["p10"]).gt(0).any()
    # a national load forecast, not garbage: within 25 % of 55 GW-ish
    assert out["p50"].between(30_000, 90_000).all()


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_predict_their_column(name: str, xy: tuple) -> None:
    X, y, Xt = xy
    model = make_model(name, SMALL).fit(X, y)
    col = {"same_hour_last_week": "load_same_hour_last_week", "same_hour_yesterday": "load_lag_1d"}
    np.testing.assert_allclose(
        model.predict(Xt)["p50"], Xt[col[name]].to_numpy(np.float32), rtol=1e-6
    )


def test_hyper_parameters_come_from_params() -> None:
    model = make_model("xgboost", SMALL, seed=3)
    assert isinstance(model, EstimatorForecaster)
    assert model.estimator_params["n_estimators"] == 20
    assert "target_reference" not in model.estimator_params
    assert model.seed == 3
    assert make_model("lightgbm", SMALL).seed == SMALL.seed


def test_unknown_model() -> None:
    with pytest.raises(ModelError, match=r"unknown model 'prophet'"):
        make_model("prophet")


@pytest.mark.parametrize("name", ["lightgbm", "same_hour_last_week"])
def test_nan_target_is_refused(name: str, xy: tuple) -> None:
    X, y, _ = xy
    y = y.copy()
    y.iloc[5] = np.nan
    with pytest.raises(ModelError, match="NaN in the target"):
        make_model(name, SMALL).fit(X, y)


def test_too_little_history_is_refused(xy: tuple) -> None:
    X, y, _ = xy
    with pytest.raises(ModelError, match="too little history"):
        make_model("xgboost", SMALL).fit(X.iloc[:50], y.iloc[:50])


@pytest.mark.parametrize("name", ["rf", "same_hour_yesterday"])
def test_missing_feature_at_predict_is_named(name: str, xy: tuple) -> None:
    X, y, Xt = xy
    model = make_model(name, SMALL).fit(X, y)
    with pytest.raises(ModelError, match="load_roll_mean_24h"):
        model.predict(Xt.drop(columns=["load_roll_mean_24h"]))


def test_baseline_without_its_column(xy: tuple) -> None:
    X, y, _ = xy
    with pytest.raises(ModelError, match="load_same_hour_last_week"):
        make_model("same_hour_last_week", SMALL).fit(X.drop(columns="load_same_hour_last_week"), y)


def test_ratio_target_needs_a_load_feature(xy: tuple) -> None:
    X, y, _ = xy
    calendar_only = X[[c for c in X.columns if not c.startswith("load_")]]
    with pytest.raises(ModelError, match="target reference"):
        make_model("lightgbm", SMALL).fit(calendar_only, y)
    raw = SMALL.with_overrides({"lightgbm": {"target_reference": []}})
    out = make_model("lightgbm", raw).fit(calendar_only, y).predict(calendar_only.iloc[:24])
    assert out["p50"].notna().all()


def test_reference_falls_back_when_load_last_is_missing(xy: tuple) -> None:
    X, y, Xt = xy
    model = make_model("ridge", SMALL).fit(X, y)
    gap = Xt.copy()
    gap["load_last"] = np.nan
    out = model.predict(gap)
    assert out["p50"].notna().all()
    assert isinstance(model, EstimatorForecaster)
    ref = model.reference(gap[model.feature_names].to_numpy(np.float32))
    np.testing.assert_allclose(ref, gap["load_roll_mean_24h"].to_numpy(np.float32))


def test_seeded_models_are_reproducible(xy: tuple) -> None:
    X, y, Xt = xy
    a = make_model("lightgbm", SMALL).fit(X, y).predict(Xt)
    b = make_model("lightgbm", SMALL).fit(X, y).predict(Xt)
    pd.testing.assert_frame_equal(a, b)
