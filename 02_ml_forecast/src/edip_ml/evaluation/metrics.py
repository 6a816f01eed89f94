"""Forecast metrics as pure functions of a forecasts frame.

The frame has one row per (origin, target_time, model) with columns ``origin, target_time, model,
horizon_h, p10, p50, p90, actual`` (what :func:`edip_ml.evaluation.backtest.run_backtest` writes), so anyone
can recompute every figure from the parquet. Conventions:

* errors are ``p50 − actual`` (a positive bias is an over-forecast), in MW;
* MAPE and coverage are **fractions** (0.021 = 2.1 %), as the promotion gates;
* rows without an actual or a P50 are left out (pinball/coverage also need P10 and P90);
* skill is ``1 − MAE_model / MAE_reference`` on the rows both models forecast (reference:
  same hour last week), > 0 when the model beats it;
* hour, month and holiday breakdowns use Europe/Paris time (the clock demand follows).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS
from edip_pipeline.contract import QUANTILE_COLUMNS, QUANTILES
from edip_pipeline.features.holidays import public_holidays

COLUMNS: tuple[str, ...] = (
    "origin",
    "target_time",
    "model",
    "horizon_h",
    "p10",
    "p50",
    "p90",
    "actual",
)
REFERENCE = "same_hour_last_week"
BREAKDOWNS: tuple[str, ...] = ("horizon", "hour", "month", "holiday", "dow", "season")


def _arrays(actual: pd.Series | np.ndarray, pred: pd.Series | np.ndarray) -> tuple[np.ndarray, ...]:
    a = np.asarray(actual, dtype=float)
    p = np.asarray(pred, dtype=float)
    ok = np.isfinite(a) & np.isfinite(p)
    return a[ok], p[ok]


def mape(actual: pd.Series | np.ndarray, pred: pd.Series | np.ndarray) -> float:
    """Mean absolute percentage error, as a fraction (rows with a zero actual are skipped)."""
    a, p = _arrays(actual, pred)
    nz = a != 0
    return float(np.mean(np.abs(p[nz] - a[nz]) / np.abs(a[nz]))) if nz.any() else float("nan")


def mae(actual: pd.Series | np.ndarray, pred: pd.Series | np.ndarray) -> float:
    """Mean absolute error (MW)."""
    a, p = _arrays(actual, pred)
    return float(np.mean(np.abs(p - a))) if len(a) else float("nan")


def rmse(actual: pd.Series | np.ndarray, pred: pd.Series | np.ndarray) -> float:
    """Root mean squared error (MW)."""
    a, p = _arrays(actual, pred)
    return float(np.sqrt(np.mean((p - a) ** 2))) if len(a) else float("nan")


def bias(actual: pd.Series | np.ndarray, pred: pd.Series | np.ndarray) -> float:
    """Mean error ``pred − actual`` (MW); positive = over-forecast."""
    a, p = _arrays(actual, pred)
    return float(np.mean(p - a)) if len(a) else float("nan")


def pinball(actual: pd.Series | np.ndarray, pred: pd.Series | np.ndarray, q: float) -> float:
    """Pinball (quantile) loss of quantile ``q``: ``mean(max(q·(a−p), (q−1)·(a−p)))`` in MW
    (``scoringrules.quantile_score``)."""
    import scoringrules

    a, p = _arrays(actual, pred)
    if not len(a):
        return float("nan")
    return float(np.mean(scoringrules.quantile_score(a, p, q, backend="numpy")))


def coverage(
    actual: pd.Series | np.ndarray, low: pd.Series | np.ndarray, high: pd.Series | np.ndarray
) -> float:
    """Share of actuals inside ``[low, high]`` (P10–P90: 0.8 if calibrated)."""
    a = np.asarray(actual, dtype=float)
    lo = np.asarray(low, dtype=float)
    hi = np.asarray(high, dtype=float)
    ok = np.isfinite(a) & np.isfinite(lo) & np.isfinite(hi)
    if not ok.any():
        return float("nan")
    return float(np.mean((a[ok] >= lo[ok]) & (a[ok] <= hi[ok])))


def scores(df: pd.DataFrame) -> dict[str, float]:
    """Every point and quantile score of one model's rows."""
    a = df["actual"]
    out = {
        "n": float(np.sum(np.isfinite(a.to_numpy(float)) & np.isfinite(df["p50"].to_numpy(float)))),
        "mape": mape(a, df["p50"]),
        "mae": mae(a, df["p50"]),
        "rmse": rmse(a, df["p50"]),
        "bias": bias(a, df["p50"]),
    }
    losses = [pinball(a, df[c], q) for c, q in zip(QUANTILE_COLUMNS, QUANTILES, strict=True)]
    for c, loss in zip(QUANTILE_COLUMNS, losses, strict=True):
        out[f"pinball_{c}"] = loss
    finite = [x for x in losses if np.isfinite(x)]
    out["pinball"] = float(np.mean(losses)) if len(finite) == len(losses) else float("nan")
    out["coverage_p10_p90"] = coverage(a, df["p10"], df["p90"])
    return out


def skill(forecasts: pd.DataFrame, reference: str = REFERENCE) -> pd.Series:
    """Per model, ``1 − MAE_model / MAE_reference`` on the (origin, target) rows both have."""
    ref = forecasts[forecasts["model"] == reference].set_index(["origin", "target_time"])
    out: dict[str, float] = {}
    for model, g in forecasts.groupby("model", sort=True):
        if ref.empty:
            out[str(model)] = float("nan")
            continue
        joined = g.set_index(["origin", "target_time"])[["p50", "actual"]].join(
            ref[["p50"]].rename(columns={"p50": "ref"}), how="inner"
        )
        joined = joined.dropna(subset=["p50", "actual", "ref"])
        ref_mae = mae(joined["actual"], joined["ref"])
        out[str(model)] = (
            1.0 - mae(joined["actual"], joined["p50"]) / ref_mae
            if ref_mae and np.isfinite(ref_mae)
            else float("nan")
        )
    return pd.Series(out, name="skill", dtype=float)


def summary(forecasts: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """One row per model: n, MAPE, MAE, RMSE, bias, pinball per quantile and mean, coverage,
    skill vs ``reference``; sorted by MAPE."""
    _check(forecasts)
    rows = {str(m): scores(g) for m, g in forecasts.groupby("model", sort=True)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    if table.empty:
        return table
    table["skill"] = skill(forecasts, reference).reindex(table.index)
    table["n"] = table["n"].astype(int)
    return table.sort_values("mape", kind="mergesort")


def _paris(forecasts: pd.DataFrame) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(forecasts["target_time"], utc=True)).tz_convert(PARIS)


def _key_horizon(df: pd.DataFrame) -> pd.Series:
    return pd.Series(np.floor(df["horizon_h"].to_numpy(float)), index=df.index, name="horizon")


def _key_hour(df: pd.DataFrame) -> pd.Series:
    return pd.Series(np.asarray(_paris(df).hour), index=df.index, name="hour")


def _key_month(df: pd.DataFrame) -> pd.Series:
    local = _paris(df)
    labels = [f"{y:04d}-{m:02d}" for y, m in zip(local.year, local.month, strict=True)]
    return pd.Series(labels, index=df.index, name="month")


def _key_holiday(df: pd.DataFrame) -> pd.Series:
    dates = pd.DatetimeIndex(_paris(df).tz_localize(None).normalize())
    hol = public_holidays(dates) if len(dates) else np.array([], dtype=bool)
    return pd.Series(np.where(hol, "holiday", "ordinary"), index=df.index, name="holiday")


def _key_dow(df: pd.DataFrame) -> pd.Series:
    return pd.Series(np.asarray(_paris(df).day_of_week), index=df.index, name="dow")


#: meteorological seasons (Paris month → label), for per-season coverage
SEASONS: dict[int, str] = {
    12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
    6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn",
}  # fmt: skip


def _key_season(df: pd.DataFrame) -> pd.Series:
    months = np.asarray(_paris(df).month)
    return pd.Series([SEASONS[int(m)] for m in months], index=df.index, name="season")


KEYS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "horizon": _key_horizon,
    "hour": _key_hour,
    "month": _key_month,
    "holiday": _key_holiday,
    "dow": _key_dow,
    "season": _key_season,
}


def breakdown(forecasts: pd.DataFrame, by: str) -> pd.DataFrame:
    """Scores per model and per ``by`` key: ``horizon`` (whole hours), ``hour`` (Paris hour of
    the target), ``month`` (Paris ``YYYY-MM``), ``holiday`` (public holiday vs ordinary day,
    Paris date), ``dow`` (0 = Monday) or ``season`` (meteorological, Paris month). Long format: columns ``model, <by>, n, mape, …``."""
    _check(forecasts)
    if by not in KEYS:
        raise ValueError(f"breakdown by must be one of {sorted(KEYS)}, got {by!r}")
    key = KEYS[by](forecasts)
    rows = []
    for (model, k), g in forecasts.groupby([forecasts["model"], key], sort=True):
        rows.append({"model": str(model), by: k, **scores(g)})
    out = pd.DataFrame(rows)
    if not out.empty:
        out["n"] = out["n"].astype(int)
    return out


def _check(forecasts: pd.DataFrame) -> None:
    missing = [c for c in COLUMNS if c not in forecasts.columns]
    if missing:
        raise ValueError(f"forecasts frame lacks columns {missing} (need {list(COLUMNS)})")
