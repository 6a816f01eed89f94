"""The bias-corrected expert copy: its correction only sees errors known at the origin."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_ml.models.bias_correction import bias_corrected


def _frame(days: int, bias_mw: float) -> pd.DataFrame:
    """Hourly forecasts of ``days`` Paris days, P50 = actual + ``bias_mw``; band ±1000 MW."""
    target = pd.date_range("2018-01-01", periods=24 * days, freq="h", tz="Europe/Paris")
    actual = 60_000.0 + 1000.0 * np.sin(np.arange(len(target)) / 5.0)
    p50 = actual + bias_mw
    return pd.DataFrame(
        {
            "target_time": target.tz_convert("UTC"),
            "model": "lightgbm",
            "p10": p50 - 1000.0,
            "p50": p50,
            "p90": p50 + 1000.0,
            "actual": actual,
        }
    )


def test_a_persistent_bias_is_removed_once_known_and_never_before() -> None:
    out = bias_corrected(_frame(30, 2000.0), "lightgbm", alpha=0.2, lag_days=2)
    assert set(out["model"]) == {"lightgbm_bc"}
    error = (out["p50"] - out["actual"]).to_numpy().reshape(30, 24)
    # days 1 and 2: no error known at their origin (D-1 12:00) yet → uncorrected
    np.testing.assert_allclose(error[:2], 2000.0)
    # from day 3 on, the errors of the days up to D-2 (all 2000 MW) cancel the bias
    np.testing.assert_allclose(error[2:], 0.0, atol=1e-6)
    np.testing.assert_allclose(out["p90"] - out["p50"], 1000.0)


def test_the_correction_ignores_the_corrected_day_and_the_day_before() -> None:
    base = _frame(10, 0.0)
    shocked = base.copy()
    day = pd.DatetimeIndex(shocked["target_time"]).tz_convert("Europe/Paris").day
    shocked.loc[np.asarray(day >= 9), "p50"] += 5000.0  # days 9 and 10 go wrong
    out = bias_corrected(shocked, "lightgbm", alpha=0.5, lag_days=2)
    shift = (shocked["p50"] - out["p50"]).to_numpy().reshape(10, 24)
    # day 10's correction reads days ≤ 8 only: the shock of days 9–10 is not seen
    np.testing.assert_allclose(shift[9], 0.0, atol=1e-6)
