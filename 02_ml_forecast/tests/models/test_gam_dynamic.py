"""The dynamic GAM-Kalman: variances chosen by day-ahead likelihood, out of sample."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_ml.config import MLParams
from edip_ml.models import make_model
from edip_ml.models.gam_dynamic import GAMKalmanDynamicForecaster, profile_loglik
from edip_testkit.synthetic import heating_rows


def test_a_level_shift_in_the_recent_window_is_tracked() -> None:
    """A −3000 MW shift 60 days before the end of training: the likelihood picks a moving filter
    (q > 0) and its forecasts after training carry the shift, unlike the static GAM's."""
    X, y = heating_rows(days=400, shift_from=330)
    n = len(X) - 24 * 14
    model = make_model("gam_kalman_dynamic", MLParams()).fit(X.iloc[:n], y.iloc[:n], 0.0)
    assert isinstance(model, GAMKalmanDynamicForecaster)
    assert model.tuned["q"] > 0
    static = make_model("gam", MLParams()).fit(X.iloc[:n], y.iloc[:n], 0.0)
    bias = float((model.predict(X.iloc[n:])["p50"] - y.iloc[n:]).mean())
    bias_static = float((static.predict(X.iloc[n:])["p50"] - y.iloc[n:]).mean())
    assert abs(bias) < abs(bias_static) / 2


def test_the_served_state_is_a_plain_kalman_state_with_per_effect_variances() -> None:
    """What is served is ``gam_kalman``'s state (the API needs nothing new); Q is diagonal and
    every effect's contribution may drift by the same q·σ² (Q_jj scaled by 1 / mean f_j²)."""
    X, y = heating_rows(days=300, shift_from=250)
    model = make_model("gam_kalman_dynamic", MLParams()).fit(X, y, 0.0)
    assert isinstance(model, GAMKalmanDynamicForecaster)
    state = model.online_state()
    assert state is not None
    assert state["kind"] == "kalman"
    Q = np.asarray(state["Q"])
    np.testing.assert_allclose(Q, np.diag(np.diag(Q)))
    assert model.tuned["q"] in MLParams().gam_kalman_dynamic.q_grid


def test_a_frozen_filter_scores_the_effects_as_they_are() -> None:
    """q = 0 and P₀ ≈ 0: θ stays at ones, so σ̂² is the mean square of y − Σ effects, and a
    filter free to move fits a drifting level better (higher likelihood)."""
    rng = np.random.default_rng(0)
    hours = 24 * 30
    targets = pd.date_range("2020-01-01", periods=hours, freq="h", tz="UTC").as_unit("ns")
    origins = (targets.floor("D") - pd.Timedelta(hours=12)).as_unit("ns").asi8
    F = np.column_stack([np.full(hours, 50000.0), rng.normal(0, 1000, hours)])
    drift = np.linspace(0, 3000, hours)
    y = F.sum(axis=1) + drift + rng.normal(0, 300, hours)
    ends = targets.asi8 + pd.Timedelta(hours=1).value
    size = 1.0 / np.mean(F * F, axis=0)
    ll0, s0 = profile_loglik(F, y, origins, ends, 0.0, 1e-12 * size)
    np.testing.assert_allclose(s0, np.mean((y - F.sum(axis=1)) ** 2), rtol=1e-6)
    ll1, s1 = profile_loglik(F, y, origins, ends, 1e-3 * size, 1e-2 * size)
    assert ll1 > ll0
    assert s1 < s0
