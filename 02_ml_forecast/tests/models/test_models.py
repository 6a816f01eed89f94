"""The model registry: names, hyper-parameters from params, every family's fit/predict contract."""

from __future__ import annotations

import pytest

from edip_ml.models import MODELS, EstimatorForecaster, make_model
from edip_ml.models.base import Forecaster, ModelError

from .conftest import SMALL


def test_registry_names() -> None:
    assert set(MODELS) == {
        "rf", "xgboost", "lightgbm", "ridge", "same_hour_last_week", "same_hour_yesterday",
        "gam", "gam_kalman", "combination",
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
