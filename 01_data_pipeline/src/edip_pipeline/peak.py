"""The daily peak of a forecast and its score: what a grid analyst preparing the evening asks.

Per Paris day D, from hourly quantile forecasts of D:

* **forecast peak**: the hour of the largest P50 (Paris wall clock) and that P50 in MW;
* **its band**: the P10 and P90 *at that hour*. Why this and not a band of the maximum: the day's
  peak is at least the load at any single hour, so the P10 at the peak hour is a conservative
  lower bound of the peak's P10; the P90 at that hour is a fair upper band when one hour stands
  out, and understates it when neighbouring hours are nearly as high (their own spread adds to
  the maximum). No joint distribution of the hours is available to do better honestly;
* **score** against the measured hourly load of D: ``error_mw`` = forecast peak − actual peak
  (the MW error of the peak level, whatever its hour) and ``hit`` = the forecast peak hour is the
  actual one (averaged over days: the peak-hour hit rate).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS, as_utc_index

#: columns of :func:`daily_peaks`
PEAK_COLUMNS = [
    "day", "peak_mw", "peak_hour", "peak_p10", "peak_p90",
    "actual_peak_mw", "actual_peak_hour", "error_mw", "hit",
]  # fmt: skip


def _by_day(index: pd.DatetimeIndex) -> pd.Index:
    return pd.Index(index.tz_convert(PARIS).strftime("%Y-%m-%d"), name="day")


def daily_peaks(forecast: pd.DataFrame, actual: pd.Series | None = None) -> pd.DataFrame:
    """One row per Paris day of ``forecast`` (UTC-indexed hourly ``p50`` with optional ``p10``
    / ``p90``), with :data:`PEAK_COLUMNS`; the actual columns are NaN where ``actual`` (UTC
    hourly MW) has no value at some hour of the day's forecast."""
    if forecast.empty:
        return pd.DataFrame(columns=PEAK_COLUMNS)
    fc = forecast.copy()
    fc.index = as_utc_index(pd.DatetimeIndex(fc.index))
    fc = fc[fc["p50"].notna()]
    for q in ("p10", "p90"):
        if q not in fc:
            fc[q] = np.nan
    fc["day"] = _by_day(pd.DatetimeIndex(fc.index))
    fc["hour"] = pd.DatetimeIndex(fc.index).tz_convert(PARIS).hour
    if actual is not None:
        a = pd.Series(
            actual.to_numpy(dtype=float), index=as_utc_index(pd.DatetimeIndex(actual.index))
        )
        fc["actual"] = a.reindex(fc.index).to_numpy()
    else:
        fc["actual"] = np.nan
    rows = []
    for day, g in fc.groupby("day", sort=True):
        top = g.iloc[int(np.argmax(g["p50"].to_numpy()))]
        peak = float(top["p50"])
        row: dict[str, Any] = {"day": day, "peak_mw": peak, "peak_hour": int(top["hour"]),
                               "peak_p10": float(top["p10"]), "peak_p90": float(top["p90"]),
                               "actual_peak_mw": np.nan, "actual_peak_hour": np.nan,
                               "error_mw": np.nan, "hit": np.nan}  # fmt: skip
        if g["actual"].notna().all():
            seen = g.iloc[int(np.argmax(g["actual"].to_numpy()))]
            measured = float(seen["actual"])
            row.update(actual_peak_mw=measured, actual_peak_hour=int(seen["hour"]),
                       error_mw=peak - measured, hit=float(int(seen["hour"]) == int(top["hour"])))  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows, columns=PEAK_COLUMNS)


def peak_scores(peaks: pd.DataFrame) -> dict[str, float | int | None]:
    """Days scored, peak-hour hit rate (fraction), mean absolute and mean peak MW error."""
    scored = peaks.dropna(subset=["error_mw"])
    if scored.empty:
        return {"n": 0, "hit_rate": None, "mae_mw": None, "bias_mw": None}
    return {
        "n": len(scored),
        "hit_rate": float(scored["hit"].mean()),
        "mae_mw": float(scored["error_mw"].abs().mean()),
        "bias_mw": float(scored["error_mw"].mean()),
    }
