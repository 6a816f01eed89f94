"""Synthetic hourly feature rows with a known answer, for tests that fit a model in a second.

The load has a heating response of −1500 MW/°C below 15 °C, a day shape and a weekend dip, so a
test can check that a model (the GAM) recovers it, or serve what it fitted (the API's tests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def heating_rows(
    days: int = 400, *, start: str = "2018-01-01", shift_from: int | None = None, seed: int = 0
) -> tuple[pd.DataFrame, pd.Series]:
    """``(X, y)`` indexed by (origin, target_time), origins D-1 12:00 UTC, first week dropped.

    ``shift_from``: the day from which the level drops by 3000 MW (a lockdown, a sobriety
    winter), for online-adaptation tests.
    """
    rng = np.random.default_rng(seed)
    targets = pd.date_range(start, periods=24 * days, freq="h", tz="UTC")
    origins = targets.floor("D") - pd.Timedelta(hours=12)
    doy = 2 * np.pi * targets.day_of_year.to_numpy() / 365.25
    hour = targets.hour.to_numpy().astype(float)
    temp = 12 - 8 * np.cos(doy) + 3 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 2, len(hour))
    dow = targets.day_of_week.to_numpy().astype(float)
    y = 50000 + 1500 * np.maximum(0, 15 - temp) + 3000 * np.sin(2 * np.pi * hour / 24)
    y = y - 4000 * (dow >= 5) + rng.normal(0, 300, len(y))
    if shift_from is not None:
        y[24 * shift_from :] -= 3000
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
