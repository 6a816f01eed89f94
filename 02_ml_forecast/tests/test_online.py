"""Online walk-forward: only outcomes known at each origin are assimilated; rolling bands."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_ml.models.gam import GAMKalmanForecaster
from edip_ml.online import rolling_offsets, walk_forward
from tests.models.test_gam import synthetic

STEP = pd.Timedelta(hours=1)


def test_walk_forward_is_leak_free() -> None:
    X, y = synthetic(days=260)
    n = 24 * 240
    test_X, test_y = X.iloc[n:], y.iloc[n:]
    model_a = GAMKalmanForecaster({"q": 1e-5}).fit(X.iloc[:n], y.iloc[:n])
    model_b = GAMKalmanForecaster({"q": 1e-5}).fit(X.iloc[:n], y.iloc[:n])
    a = walk_forward(model_a, test_X, test_y, STEP)
    origins = pd.DatetimeIndex(test_X.index.get_level_values("origin"))
    targets = pd.DatetimeIndex(test_X.index.get_level_values("target_time"))
    cut = origins.unique()[10]
    later = test_y.copy()
    later[np.asarray(targets >= cut)] *= 1.02  # change every outcome after that origin
    b = walk_forward(model_b, test_X, later, STEP)
    upto = np.asarray(origins <= cut)
    np.testing.assert_allclose(a.loc[upto, "p50"], b.loc[upto, "p50"])
    assert not np.allclose(a.loc[~upto, "p50"], b.loc[~upto, "p50"])


def test_rolling_offsets_use_only_past_residuals() -> None:
    targets = pd.date_range("2019-01-01", periods=24 * 30, freq="h", tz="UTC")
    origins = targets.floor("D") - pd.Timedelta(hours=12)
    resid = np.where(targets >= pd.Timestamp("2019-01-20", tz="UTC"), 5000.0, 0.0)
    resid = resid + np.tile(np.linspace(-1000, 1000, 24), 30)
    off = rolling_offsets(pd.DatetimeIndex(origins), targets, resid, STEP, window_days=7)
    early = np.asarray(origins < pd.Timestamp("2019-01-19", tz="UTC"))
    assert np.isnan(off[:48]).all()  # nothing known yet: the caller's fallback applies
    assert (off[early & ~np.isnan(off[:, 0])][:, 1] < 1000).all()
    assert off[-1, 1] > 4000  # the recent shift widens the band
