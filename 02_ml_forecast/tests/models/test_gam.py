"""GAM and its Kalman version: temperature response, fallback, ONNX parity, online adaptation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_ml.models import make_model
from edip_ml.models.gam import EFFECTS, GAMForecaster, GAMKalmanForecaster


def synthetic(days: int = 400, shift_from: int | None = None, seed: int = 0):  # type: ignore[no-untyped-def]
    """Hourly rows with a known heating response (−1500 MW/°C below 15 °C) and day shape."""
    rng = np.random.default_rng(seed)
    targets = pd.date_range("2018-01-01", periods=24 * days, freq="h", tz="UTC")
    origins = targets.floor("D") - pd.Timedelta(hours=12)
    doy = 2 * np.pi * targets.day_of_year.to_numpy() / 365.25
    hour = targets.hour.to_numpy().astype(float)
    temp = 12 - 8 * np.cos(doy) + 3 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 2, len(hour))
    dow = targets.day_of_week.to_numpy().astype(float)
    y = 50000 + 1500 * np.maximum(0, 15 - temp) + 3000 * np.sin(2 * np.pi * hour / 24)
    y = y - 4000 * (dow >= 5) + rng.normal(0, 300, len(y))
    if shift_from is not None:
        y[24 * shift_from :] -= 3000  # a level shift (a lockdown, a sobriety winter)
    X = pd.DataFrame(
        {
            "horizon_h": ((targets - origins) / pd.Timedelta(hours=1)).to_numpy(float),
            "hour": hour,
            "dow": dow,
            "is_holiday": 0.0,
            "doy_sin": np.sin(doy),
            "doy_cos": np.cos(doy),
            "temperature_c": temp,
            "temperature_ewm_0p05": pd.Series(temp).ewm(alpha=0.05).mean().to_numpy(),
            "load_lag_1d": np.r_[np.full(24, np.nan), y[:-24]],
            "load_same_hour_last_week": np.r_[np.full(168, np.nan), y[:-168]],
        },
        index=pd.MultiIndex.from_arrays([origins, targets], names=["origin", "target_time"]),
    )
    keep = np.arange(len(X)) >= 168
    return X[keep], pd.Series(y[keep], index=X.index[keep], name="load_mw")


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return synthetic()


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
    X, y = synthetic(days=420, shift_from=400)
    n_fit = 24 * 399
    static = GAMForecaster().fit(X.iloc[:n_fit], y.iloc[:n_fit])
    online = GAMKalmanForecaster({"q": 1e-5}).fit(X.iloc[:n_fit], y.iloc[:n_fit])
    from edip_ml.online import walk_forward

    test = slice(n_fit, None)
    pred = walk_forward(online, X.iloc[test], y.iloc[test], pd.Timedelta(hours=1))
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
    skipped = model.update(X.iloc[-3:], bad)
    assert skipped.tolist() == [True, True, True]
    np.testing.assert_array_equal(model.state.theta, before)
    assert model.state.n_skipped >= 3
