"""Forecast error metrics as the dashboard shows them: MAPE, MAE, bias, by day, hour and day type.

Why here and not only from ``/v1/metrics/summary``: the Performance page also needs the error by
hour of day and day type and the same-hour-last-week baseline, which the API does not serve. The
served forecast counted for a target is, as in the API, the latest-origin day-ahead one
(origin ≤ target − 12 h) per model version, so both sides agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from edip_dashboard.clock import paris_day, to_paris

#: a served forecast counts as day-ahead when issued at least this long before its target
DAY_AHEAD_LEAD = pd.Timedelta(hours=12)
#: the loop's intraday re-issues are logged as ``issue-<D>-intraday-<slot>``: never day-ahead
#: (the D-1 18:00 one is ≥ 12 h before most of D, and later than the D-1 12:00 day-ahead)
INTRADAY_REQUEST = "-intraday-"
DAY_TYPES = ("weekday", "saturday", "sunday")


@dataclass(frozen=True)
class ErrorMetrics:
    """n points, MAPE as a fraction, MAE and bias (forecast − actual) in MW."""

    n: int
    mape: float
    mae: float
    bias: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def error_metrics(forecast: pd.Series | np.ndarray, actual: pd.Series | np.ndarray) -> ErrorMetrics:
    """Metrics over the points where both are finite (MAPE also skips zero actuals); NaN if none."""
    f = np.asarray(forecast, dtype=float)
    a = np.asarray(actual, dtype=float)
    if f.shape != a.shape:
        raise ValueError(f"forecast and actual differ in shape: {f.shape} vs {a.shape}")
    ok = np.isfinite(f) & np.isfinite(a)
    if not ok.any():
        return ErrorMetrics(0, float("nan"), float("nan"), float("nan"))
    err = f[ok] - a[ok]
    nonzero = a[ok] != 0
    mape = (
        float(np.mean(np.abs(err[nonzero]) / np.abs(a[ok][nonzero])))
        if nonzero.any()
        else float("nan")
    )
    return ErrorMetrics(int(ok.sum()), mape, float(np.mean(np.abs(err))), float(np.mean(err)))


def day_ahead_forecasts(
    predictions: pd.DataFrame, lead: pd.Timedelta = DAY_AHEAD_LEAD
) -> pd.DataFrame:
    """Per model version and target, the latest-origin forecast issued ≥ ``lead`` before it.

    Input: :func:`~edip_dashboard.frames.predictions_frame`. Output columns ``model_name,
    model_version, target_time, origin, p10, p50, p90``.
    """
    cols = ["model_name", "model_version", "target_time", "origin", "p10", "p50", "p90"]
    if predictions.empty:
        return pd.DataFrame(columns=cols)
    eligible = predictions[predictions["origin"] <= predictions["target_time"] - lead]
    if "request_id" in eligible:
        ids = eligible["request_id"].astype("string")
        eligible = eligible[~ids.str.contains(INTRADAY_REQUEST, regex=False).fillna(False)]
    eligible = eligible.sort_values(["origin", "created_at"], kind="stable")
    latest = eligible.drop_duplicates(["model_name", "model_version", "target_time"], keep="last")
    return (
        latest[cols]
        .sort_values(["model_name", "model_version", "target_time"])
        .reset_index(drop=True)
    )


def same_hour_last_week(actuals: pd.Series) -> pd.Series:
    """The naive baseline: each hour's actual one week earlier (index = the target time)."""
    shifted = actuals.copy()
    shifted.index = shifted.index + pd.Timedelta(days=7)
    return shifted.rename("same_hour_last_week")


def comparison_frame(forecasts: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """One row per (model version, target): our P50, the actual, RTE's D-1 and last week's actual.

    ``forecasts`` from :func:`day_ahead_forecasts`; ``actuals`` from
    :func:`~edip_dashboard.frames.actuals_frame` (index: UTC timestamp).
    """
    cols = ["model", "target_time", "p10", "p50", "p90", "actual", "rte_d1", "same_hour_last_week"]
    if forecasts.empty or actuals.empty:
        return pd.DataFrame(columns=cols)
    load = actuals["consumption_mw"]
    baseline = same_hour_last_week(load)
    out = forecasts.copy()
    out["model"] = model_label(out["model_name"], out["model_version"])
    t = pd.DatetimeIndex(out["target_time"])
    out["actual"] = load.reindex(t).to_numpy()
    out["rte_d1"] = actuals["rte_forecast_d1_mw"].reindex(t).to_numpy()
    out["same_hour_last_week"] = baseline.reindex(t).to_numpy()
    return out[cols].reset_index(drop=True)


def model_label(name: pd.Series, version: pd.Series) -> pd.Series:
    """``lightgbm v3`` (or just the name when the version is unknown)."""
    v = version.fillna("").astype(str)
    return name.astype(str) + np.where(v != "", " v" + v, "")


def day_type(times: pd.Series) -> pd.Series:
    """Weekday / saturday / sunday of each (UTC) time, in Paris local time."""
    dow = to_paris(times).dt.day_of_week
    return pd.Series(
        np.select([dow == 5, dow == 6], ["saturday", "sunday"], "weekday"), index=times.index
    )


def _grouped_metrics(frame: pd.DataFrame, keys: list[str], forecast_col: str) -> pd.DataFrame:
    rows = []
    for key, group in frame.groupby(keys, sort=True, dropna=False):
        m = error_metrics(group[forecast_col], group["actual"])
        key_t = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key_t, strict=True)), **m.as_dict()})
    out = pd.DataFrame(rows, columns=[*keys, "n", "mape", "mae", "bias"])
    return out[out["n"] > 0].reset_index(drop=True)


def long_errors(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison frame reshaped to one row per (forecaster, target): ``forecaster,
    target_time, forecast, actual``. Forecasters: each model version, ``RTE D-1`` and
    ``same hour last week`` (those two once per target, not once per model version)."""
    if comparison.empty:
        return pd.DataFrame(columns=["forecaster", "target_time", "forecast", "actual"])
    parts = [
        comparison.rename(columns={"model": "forecaster", "p50": "forecast"})[
            ["forecaster", "target_time", "forecast", "actual"]
        ]
    ]
    per_target = comparison.drop_duplicates("target_time")
    for col, label in (("rte_d1", "RTE D-1"), ("same_hour_last_week", "same hour last week")):
        part = per_target[["target_time", col, "actual"]].rename(columns={col: "forecast"})
        part.insert(0, "forecaster", label)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return out[out["forecast"].notna() & out["actual"].notna()].reset_index(drop=True)


def daily_metrics(errors: pd.DataFrame) -> pd.DataFrame:
    """Per forecaster and Paris day: n, MAPE, MAE, bias (input: :func:`long_errors`)."""
    frame = errors.assign(date=paris_day(errors["target_time"]))
    return _grouped_metrics(frame, ["forecaster", "date"], "forecast")


def rolling_daily(daily: pd.DataFrame, window: int = 7) -> pd.DataFrame:
    """Adds ``mape_rolling``: the mean daily MAPE over the last ``window`` days, per forecaster."""
    if daily.empty:
        return daily.assign(mape_rolling=pd.Series(dtype=float))
    out = daily.sort_values(["forecaster", "date"]).copy()
    out["mape_rolling"] = out.groupby("forecaster")["mape"].transform(
        lambda s: s.rolling(window, min_periods=1).mean()
    )
    return out.reset_index(drop=True)


def error_by_hour(errors: pd.DataFrame) -> pd.DataFrame:
    """Per forecaster and Paris hour of day (0–23): n, MAPE, MAE, bias."""
    hours = to_paris(errors["target_time"]).dt.hour
    return _grouped_metrics(errors.assign(hour=hours), ["forecaster", "hour"], "forecast")


def error_by_day_type(errors: pd.DataFrame) -> pd.DataFrame:
    """Per forecaster and day type (weekday / saturday / sunday, Paris time)."""
    return _grouped_metrics(
        errors.assign(day_type=day_type(errors["target_time"])),
        ["forecaster", "day_type"],
        "forecast",
    )


def overall(errors: pd.DataFrame, common: bool = True) -> pd.DataFrame:
    """One row per forecaster over the period; ``common`` keeps only targets all of them cover,
    so the comparison is fair (same hours for our model, RTE and the baseline)."""
    if errors.empty:
        return pd.DataFrame(columns=["forecaster", "n", "mape", "mae", "bias"])
    frame = errors
    if common:
        counts = frame.groupby("target_time")["forecaster"].nunique()
        n_forecasters = frame["forecaster"].nunique()
        keep = counts[counts == n_forecasters].index
        if len(keep):
            frame = frame[frame["target_time"].isin(keep)]
    return (
        _grouped_metrics(frame, ["forecaster"], "forecast")
        .sort_values("mape")
        .reset_index(drop=True)
    )
