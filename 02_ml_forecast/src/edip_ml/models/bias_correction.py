"""A bias-corrected copy of an expert, as one more expert of the online combination.

Why: on the validation years (2017/2018, ``bench/accuracy.py --validate``) LightGBM under-forecasts
cold spells by 1.4–4.3 GW (it learns the load as a ratio to the last known hour and cannot
extrapolate past the training range), and ML-Poly's convex weights cannot remove a bias all
experts share. The copy subtracts an exponentially weighted mean of the expert's own past daily
mean error; the combination then leans on it when the bias persists (a cold spell, a level shift)
and on the raw expert when it does not.

Leak-free: the forecast of Paris day D (issued at D-1 12:00) is corrected with the errors of the
days up to D-2 only (``lag_days``), whose actuals are all known at the origin.
"""

from __future__ import annotations

import pandas as pd

from edip_pipeline.calendar import PARIS

#: suffix of a corrected expert's name (``lightgbm`` → ``lightgbm_bc``)
SUFFIX = "_bc"


def bias_corrected(
    forecasts: pd.DataFrame, model: str, alpha: float = 0.2, lag_days: int = 2
) -> pd.DataFrame:
    """``model``'s rows of ``forecasts`` with P10/P50/P90 shifted by minus the EWMA (weight
    ``alpha`` on the newest day) of its daily mean error (P50 − actual) up to day D - ``lag_days``;
    named ``model + SUFFIX``; no correction before the first error is known."""
    rows = forecasts[forecasts["model"] == model]
    if rows.empty:
        return rows
    day = pd.DatetimeIndex(rows["target_time"]).tz_convert(PARIS).tz_localize(None).normalize()
    error = (rows["p50"] - rows["actual"]).groupby(day.to_numpy()).mean().dropna()
    smoothed = error.ewm(alpha=alpha).mean()
    smoothed.index = pd.DatetimeIndex(smoothed.index) + pd.Timedelta(days=lag_days)
    days = pd.DatetimeIndex(sorted(set(day) | set(smoothed.index)))
    shift = smoothed.reindex(days).ffill().reindex(day).fillna(0.0).to_numpy()
    out = rows.copy()
    for column in ("p10", "p50", "p90"):
        out[column] = out[column].to_numpy() - shift
    out["model"] = model + SUFFIX
    return out
