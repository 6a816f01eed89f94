"""The day-ahead forecast error of the robustness benchmark: size, persistence, only after the
origin, only on the rows asked, reproducible."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_ml.evaluation.weather_error import ForecastError, perturb_weather
from edip_pipeline.config import FeatureParams
from edip_testkit.synthetic import heating_rows


def test_the_error_path_has_the_documented_size_and_persistence() -> None:
    e = ForecastError(rms_c=1.25, phi_hourly=0.97, seed=1).path(24 * 365 * 3)
    assert 1.05 < float(np.sqrt(np.mean(e**2))) < 1.45
    lag1 = float(np.corrcoef(e[:-1], e[1:])[0, 1])
    assert 0.95 < lag1 < 0.99
    np.testing.assert_array_equal(e, ForecastError(seed=1).path(len(e)))
    assert not np.array_equal(e, ForecastError(seed=2).path(len(e)))


def test_only_the_rows_asked_change_and_smoothed_temperatures_get_the_forecast_part() -> None:
    X, _ = heating_rows(days=60)
    params = FeatureParams(temperature_smoothing_alphas=[0.05])
    rows = np.asarray(pd.DatetimeIndex(X.index.get_level_values("target_time")) >= "2018-02-01")
    out = perturb_weather(X, rows, params, ForecastError(seed=0))
    pd.testing.assert_frame_equal(out[~rows], X[~rows])
    d_temp = (out["temperature_c"] - X["temperature_c"])[rows].to_numpy()
    d_ewm = (out["temperature_ewm_0p05"] - X["temperature_ewm_0p05"])[rows].to_numpy()
    assert np.abs(d_temp).max() > 0.5
    # the smoothed error only holds the hours after the origin (lead 12-35 h): weights summing
    # to 1 - 0.95^lead < 1, so it is smaller than the instantaneous error on average
    assert float(np.mean(np.abs(d_ewm))) < float(np.mean(np.abs(d_temp)))
    assert float(np.abs(d_ewm).max()) > 0.0
    unchanged = [c for c in X.columns if c not in ("temperature_c", "temperature_ewm_0p05")]
    pd.testing.assert_frame_equal(out[unchanged], X[unchanged])
