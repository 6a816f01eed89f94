"""A realistic day-ahead temperature-forecast error added to observed weather (robustness check).

Why: the development years have no archived weather forecasts, so the backtests use observed
temperatures (an ORACLE). A model that leans on perfect temperature looks better there than it
will be when served on forecasts. :func:`perturb_weather` gives the test rows the temperature a
day-ahead forecast would have had: the observation plus an error

* **autocorrelated**: a stationary AR(1) over the hourly target grid,
  ``e_t = φ e_{t−1} + √(1 − φ²) σ z_t`` (``z`` standard normal, seeded), so the error is a
  slowly drifting bias (``φ = 0.97`` per hour: an e-folding time of about 33 h, one forecast
  run's error persists through the day) and not white noise that averages out;
* **of realistic size**: RMS ``σ = 1.25 °C`` by default, the middle of the 1–1.5 °C RMS of
  D+1 forecasts of a national (population-weighted) temperature;
* **only after the origin**: the hours up to the origin are observed when the forecast is
  issued, so a smoothed temperature (``temperature_ewm_<α>``, :func:`causal_exp_smooth`) gets
  only the error of its forecast hours, ``Σ_{j<L} α(1−α)^j e_{t−j}`` for a target ``L`` hours
  after its origin; ``heating_degrees``/``cooling_degrees`` follow from the perturbed
  temperature and ``apparent_temperature_c`` takes the same error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from edip_ml.data.training_data import TrainingData
from edip_pipeline.config import FeatureParams
from edip_pipeline.features.weather import cooling_degrees, ewm_name, heating_degrees

HOUR_NS = 3_600_000_000_000


@dataclass(frozen=True)
class ForecastError:
    """The error model of :func:`perturb_weather` (module doc)."""

    rms_c: float = 1.25
    phi_hourly: float = 0.97
    seed: int = 0

    def path(self, n: int) -> np.ndarray:
        """``n`` hourly errors of the stationary AR(1) (°C), reproducible from ``seed``."""
        rng = np.random.default_rng(self.seed)
        z = rng.standard_normal(n)
        e = np.empty(n)
        innovation = np.sqrt(1.0 - self.phi_hourly**2) * self.rms_c
        prev = self.rms_c * rng.standard_normal()  # the stationary start
        for i in range(n):
            prev = self.phi_hourly * prev + innovation * z[i]
            e[i] = prev
        return e

    def describe(self) -> str:
        return (
            f"AR(1) temperature error, RMS {self.rms_c:g} °C, φ {self.phi_hourly:g}/h, "
            f"seed {self.seed}"
        )


def perturb_weather(
    frame: pd.DataFrame, rows: np.ndarray, params: FeatureParams, error: ForecastError
) -> pd.DataFrame:
    """A copy of the feature ``frame`` whose ``rows`` (bool mask) carry the forecast error.

    The error is one AR(1) path over the hourly grid of the perturbed targets (the same target
    hour gets the same error whatever its origin); each row's smoothed temperatures get the part
    of it that falls after the row's origin (module doc). Rows without a temperature stay NaN.
    """
    out = frame.copy()
    rows = np.asarray(rows, dtype=bool)
    if not rows.any() or "temperature_c" not in out.columns:
        return out
    sub = out.loc[rows]
    targets = pd.DatetimeIndex(sub.index.get_level_values("target_time")).as_unit("ns").asi8
    origins = pd.DatetimeIndex(sub.index.get_level_values("origin")).as_unit("ns").asi8
    first = int(targets.min())
    n_hours = int((targets.max() - first) // HOUR_NS) + 1
    lead = np.maximum((targets - origins) // HOUR_NS, 0).astype(int)
    longest = int(lead.max()) if len(lead) else 0
    e = np.r_[np.zeros(longest), error.path(n_hours)]  # hours before the span: no error
    pos = (targets - first) // HOUR_NS + longest
    temp = sub["temperature_c"].to_numpy(dtype=float) + e[pos]
    updates: dict[str, np.ndarray] = {"temperature_c": temp}
    lags = np.arange(max(longest, 1))
    past = e[np.clip(pos[:, None] - lags[None, :], 0, len(e) - 1)]  # e(t - j), j < longest
    before_origin = lags[None, :] >= lead[:, None]
    for alpha in params.temperature_smoothing_alphas:
        col = ewm_name(alpha)
        if col in sub.columns:
            w = alpha * (1.0 - alpha) ** lags
            shift = np.where(before_origin, 0.0, past * w[None, :]).sum(axis=1)
            updates[col] = sub[col].to_numpy(dtype=float) + shift
    if "heating_degrees" in sub.columns:
        updates["heating_degrees"] = heating_degrees(temp, params.heating_base_c)
    if "cooling_degrees" in sub.columns:
        updates["cooling_degrees"] = cooling_degrees(temp, params.cooling_base_c)
    if "apparent_temperature_c" in sub.columns:
        updates["apparent_temperature_c"] = sub["apparent_temperature_c"].to_numpy() + e[pos]
    for col, values in updates.items():
        out.loc[rows, col] = values
    return out


def perturbed_data(
    data: TrainingData, start_day: pd.Timestamp, error: ForecastError
) -> TrainingData:
    """A :class:`~edip_ml.data.training_data.TrainingData` whose rows with a target on or after
    Paris day ``start_day`` carry the forecast error (the backtest then runs on it, ``data=``)."""
    frame = data.features.frame
    keys = data.keys
    rows = np.asarray(keys >= start_day)
    new = perturb_weather(frame, rows, data.feature_params, error)
    return replace(data, features=replace(data.features, frame=new))
