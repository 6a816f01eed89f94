"""GAM and its Kalman version: temperature response, fallback, ONNX parity, online adaptation."""

from __future__ import annotations

import numpy as np
import pytest

from edip_ml.models import make_model
from edip_ml.models.gam import EFFECTS, GAMForecaster, GAMKalmanForecaster
from edip_testkit.synthetic import heating_rows


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return heating_rows()


def test_gam_learns_the_temperature_response(data) -> None:  # type: ignore[no-untyped-def]
    X, y = data
    n = len(X) - 24 * 30
    model = make_model("gam").fit(X.iloc[:n], y.iloc[:n])
    pred = model.predict(X.iloc[n:])
    mape = float(np.mean(np.abs(pred["p50"] - y.iloc[n:]) / y.iloc[n:]))
    assert mape < 0.02
    warm, cold = X.iloc[n:].copy(), X.iloc[n:].copy()
    cold[["temperature_c", "temperature_ewm_0p05"]] -= 2.0
    warm[["temperature_c", "temperature_ewm_0p05"]] += 0.0
    delta = (model.predict(cold)["p50"] - model.predict(warm)["p50"]).mean()
    assert 1500 < delta < 4500  # about 2 °C × 1500 MW/°C where heating is on


def test_effects_sum_to_the_median(data) -> None:  # type: ignore[no-untyped-def]
    X, y = data
    model = GAMForecaster().fit(X, y)
    F = model.effects(X.iloc[-48:])
    assert F.shape == (48, len(EFFECTS))
    np.testing.assert_allclose(F.sum(axis=1), model.predict(X.iloc[-48:])["p50"], rtol=1e-9)


def test_missing_temperature_uses_the_labelled_fallback(data) -> None:  # type: ignore[no-untyped-def]
    X, y = data
    model = GAMForecaster().fit(X, y)
    Xt = X.iloc[-48:].copy()
    Xt.iloc[:10, Xt.columns.get_loc("temperature_c")] = np.nan
    pred = model.predict(Xt)
    assert pred["p50"].notna().all()
    assert model.fallback_rows(Xt) == 10


def test_kalman_absorbs_a_level_shift_within_days() -> None:
    X, y = heating_rows(days=420, shift_from=400)
    n_fit = 24 * 399
    static = GAMForecaster().fit(X.iloc[:n_fit], y.iloc[:n_fit])
    online = GAMKalmanForecaster({"q": 1e-5}).fit(X.iloc[:n_fit], y.iloc[:n_fit])
    from edip_ml.models.walk_forward import walk_forward

    test = slice(n_fit, None)
    pred = walk_forward(online, X.iloc[test], y.iloc[test])
    err_online = (pred["p50"] - y.iloc[test]).to_numpy()
    err_static = (static.predict(X.iloc[test])["p50"] - y.iloc[test]).to_numpy()
    last_week = slice(-24 * 7, None)
    assert np.abs(err_static[last_week]).mean() > 2000  # the static model keeps the old level
    assert np.abs(err_online[last_week]).mean() < 0.5 * np.abs(err_static[last_week]).mean()


def test_update_skips_gaps_and_outliers(data) -> None:  # type: ignore[no-untyped-def]
    X, y = data
    model = GAMKalmanForecaster().fit(X.iloc[:-48], y.iloc[:-48])
    assert model.state is not None
    before = model.state.theta.copy()
    bad = y.iloc[-3:].copy()
    bad.iloc[0] = np.nan  # a gap
    bad.iloc[1] = 1e7  # a meter glitch
    bad.iloc[2] = -1e7
    skipped = model.absorb(X.iloc[-3:], bad)
    assert skipped.tolist() == [True, True, True]
    np.testing.assert_array_equal(model.state.theta, before)
    assert model.state.n_skipped >= 3
