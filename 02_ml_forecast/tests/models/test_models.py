"""The model registry: names, hyper-parameters from params, every family's fit/predict contract."""

from __future__ import annotations

import numpy as np
import pytest

from edip_ml.models import MODELS, EstimatorForecaster, make_model
from edip_ml.models.base import Forecaster, ModelError, OnlineForecaster
from edip_ml.models.combination import CombinedForecaster
from edip_pipeline.conformal import ConformalBand
from edip_pipeline.contract import RTE_FEATURE
from edip_pipeline.contributions import CONTRIBUTIONS, ONLINE_CORRECTION, RECENT_LOAD
from edip_pipeline.online import MLPoly
from edip_testkit.synthetic import heating_rows

from .conftest import SMALL


def test_registry_names() -> None:
    assert set(MODELS) == {
        "rf", "xgboost", "lightgbm", "lightgbm_intraday", "ridge", "same_hour_last_week",
        "same_hour_yesterday",
        "gam", "gam_kalman", "gam_kalman_dynamic", "combination", "combination_rte",
    }  # fmt: skip
    for name, cls in MODELS.items():
        assert cls.name == name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fit_predict_shapes_and_quantiles(name: str, xy: tuple) -> None:
    X, y, Xt = xy
    if name == "combination_rte":  # RTE's D-1 forecast is an input column of its own
        X = X.assign(**{RTE_FEATURE: y.to_numpy() + 500})
        Xt = Xt.assign(**{RTE_FEATURE: 60_000.0})
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


#: the families with an exact decomposition of their P50 (issue 24: "why this forecast")
EXPLAINED = ["gam", "gam_kalman", "lightgbm", "xgboost", "combination"]


@pytest.mark.parametrize("name", EXPLAINED)
def test_contributions_add_up_to_the_p50(name: str, xy: tuple) -> None:
    """Each row's named contributions add up to its P50 within 1 MW (trees: TreeSHAP × the
    reference load; the combination: the experts' decompositions under the served weights)."""
    X, y, Xt = xy
    model = make_model(name, SMALL).fit(X, y)
    parts = model.contributions(Xt)
    assert parts is not None
    assert list(parts.columns) == list(CONTRIBUTIONS)
    assert parts.index.equals(Xt.index)
    p50 = model.predict(Xt)["p50"]
    assert (parts.sum(axis=1) - p50).abs().max() < 1.0
    # the load history explains a share, and the decomposition is not all in one name
    assert parts[RECENT_LOAD].abs().mean() > 100
    assert (parts.abs().mean() > 1.0).sum() >= 3


def test_the_online_correction_is_the_kalman_state_against_the_fit() -> None:
    """A level drop absorbed online shows as a negative ``online_correction``, and the
    combination carries its experts' corrections under its weights, still adding up."""
    X, y = heating_rows(days=300, shift_from=250)
    kalman = make_model("gam_kalman").fit(X.iloc[: 24 * 240], y.iloc[: 24 * 240])
    assert isinstance(kalman, OnlineForecaster)
    kalman.absorb(X.iloc[24 * 240 : 24 * 290], y.iloc[24 * 240 : 24 * 290])
    Xt = X.iloc[-24:]
    parts = kalman.contributions(Xt)
    assert parts is not None
    assert parts[ONLINE_CORRECTION].mean() < -1000  # about the 3000 MW drop
    assert (parts.sum(axis=1) - kalman.predict(Xt)["p50"]).abs().max() < 1.0
    gam = make_model("gam").fit(X.iloc[: 24 * 240], y.iloc[: 24 * 240])
    state = MLPoly(2)
    E = np.column_stack([m.predict(X.iloc[-600:-24])["p50"] for m in (gam, kalman)])
    state.update(E, y.iloc[-600:-24].to_numpy(), X["hour"].iloc[-600:-24].to_numpy())
    combined = CombinedForecaster({"experts": ["gam", "gam_kalman"]})
    combined.set_experts([gam, kalman], state, ConformalBand())
    both = combined.contributions(Xt)
    assert both is not None
    assert (both.sum(axis=1) - combined.predict(Xt)["p50"]).abs().max() < 1.0
    w = state.weights()[Xt["hour"].to_numpy().astype(int), 1]
    np.testing.assert_allclose(both[ONLINE_CORRECTION], w * parts[ONLINE_CORRECTION], atol=1e-6)


@pytest.mark.parametrize("name", ["rf", "ridge", "same_hour_last_week"])
def test_families_without_an_exact_decomposition_say_so(name: str, xy: tuple) -> None:
    X, y, Xt = xy
    assert make_model(name, SMALL).fit(X, y).contributions(Xt) is None


def test_the_intraday_model_weights_short_leads_and_learns_to_the_profile() -> None:
    """``lightgbm_intraday``: rows weighted 1 / (1 + horizon / lead_weight_h); its median is a
    ratio to ``load_profile_1d`` first (the day-ahead columns lack it: then ``load_last``)."""
    six = SMALL.with_overrides({"lightgbm_intraday": {"lead_weight_h": 6.0}})
    model = make_model("lightgbm_intraday", six)
    assert isinstance(model, EstimatorForecaster)
    assert model.reference_features[:2] == ["load_profile_1d", "load_last"]
    assert "lead_weight_h" not in model.estimator_params
    model.feature_names = ["horizon_h", "load_last"]
    X = np.array([[0.0, 5e4], [6.0, 5e4], [30.0, 5e4]])
    np.testing.assert_allclose(model._fit_options(X)["sample_weight"], [1.0, 0.5, 1 / 6])
    flat = make_model(
        "lightgbm_intraday", SMALL.with_overrides({"lightgbm_intraday": {"lead_weight_h": None}})
    )
    flat.feature_names = model.feature_names
    assert flat._fit_options(X) == {}
