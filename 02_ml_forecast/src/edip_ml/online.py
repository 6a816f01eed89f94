"""Online adaptation in the backtest, exactly as production runs it: daily updates between refits.

Production: a model is refitted monthly; every day, at the 12:00 origin, the outcomes that have
become known since the previous origin are assimilated (Kalman update of the effects, see
:class:`edip_pipeline.online.KalmanEffects`), then tomorrow is forecast. :func:`walk_forward`
replays that origin by origin over a fold's test rows: before forecasting from origin ``o`` it
feeds every test row whose target interval had ended (``target_time + step <= o``) and was not
yet fed. A gap (NaN outcome) or an outlier is skipped and flagged by the filter, never assimilated.

P10/P90 of online models and combinations: :func:`rolling_offsets`, the empirical 10th/90th
percentiles of the residuals of the last ``window_days`` whose outcomes were known at each origin
(adaptive, so the band follows the adapted model instead of the refit's calibration slice).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from edip_pipeline.contract import QUANTILES

log = logging.getLogger(__name__)


def walk_forward(model: Any, X: pd.DataFrame, y: pd.Series, step: pd.Timedelta) -> pd.DataFrame:
    """P10/P50/P90 of an online ``model`` over ``X`` (one fold), updating it between origins.

    ``model`` has ``predict(X)`` and ``update(X, y) -> skipped flags``. Returns the predictions
    in the order of ``X`` with a ``skipped`` count in ``attrs``.
    """
    origins = pd.DatetimeIndex(X.index.get_level_values("origin")).as_unit("ns")
    targets = pd.DatetimeIndex(X.index.get_level_values("target_time")).as_unit("ns")
    order = np.argsort(np.asarray(targets.asi8), kind="stable")
    end_ns = targets.asi8[order] + step.value
    out = pd.DataFrame(index=X.index, columns=["p10", "p50", "p90"], dtype=float)
    fed = 0
    skipped = 0
    for origin in np.unique(origins.asi8):
        known = int(np.searchsorted(end_ns, origin, side="right"))
        if known > fed:
            rows = order[fed:known]
            skipped += int(np.sum(model.update(X.iloc[rows], y.iloc[rows])))
            fed = known
        at = np.flatnonzero(origins.asi8 == origin)
        out.iloc[at] = model.predict(X.iloc[at])[["p10", "p50", "p90"]].to_numpy()
    out.attrs["skipped"] = skipped
    if skipped:
        log.info(
            "%s: %d outcomes skipped by the online update (gaps/outliers)", model.name, skipped
        )
    return out


def rolling_offsets(
    origins: pd.DatetimeIndex,
    targets: pd.DatetimeIndex,
    resid: np.ndarray,
    step: pd.Timedelta,
    window_days: int,
    fallback: tuple[float, float] = (np.nan, np.nan),
    min_count: int = 48,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """[N, 2] (P10 − P50, P90 − P50) per row from residuals (actual − P50) known at its origin.

    ``scale`` (the rows' P50): quantiles of the *relative* residuals, multiplied back by each
    row's P50 — errors grow with the load level, so a band learnt in autumn widens in winter.
    """
    o = np.asarray(pd.DatetimeIndex(origins).as_unit("ns").asi8)
    t_end = np.asarray(pd.DatetimeIndex(targets).as_unit("ns").asi8) + step.value
    order = np.argsort(t_end, kind="stable")
    s = np.ones(len(o)) if scale is None else np.asarray(scale, dtype=float)
    rel = np.asarray(resid, dtype=float) / np.where(s != 0, s, np.nan)
    t_sorted, r_sorted = t_end[order], rel[order]
    window = pd.Timedelta(days=window_days).value
    out = np.tile(np.asarray(fallback, dtype=float), (len(o), 1))
    for origin in np.unique(o):
        lo = np.searchsorted(t_sorted, origin - window, side="left")
        hi = np.searchsorted(t_sorted, origin, side="right")
        r = r_sorted[lo:hi]
        r = r[np.isfinite(r)]
        if len(r) >= min_count:
            q = np.quantile(r, [QUANTILES[0], QUANTILES[2]])
            at = o == origin
            out[at] = np.column_stack([min(q[0], 0.0) * s[at], max(q[1], 0.0) * s[at]])
    return out


def with_rolling_band(frame: pd.DataFrame, step: pd.Timedelta, window_days: int) -> pd.DataFrame:
    """A forecasts frame (one model) with P10/P90 from :func:`rolling_offsets` of its residuals.

    The frame's own band (the model's calibration offsets, or none) is the fallback until
    enough residuals are known.
    """
    f = frame.sort_values("target_time", kind="mergesort").copy()
    resid = (f["actual"] - f["p50"]).to_numpy(dtype=float)
    fallback = np.column_stack(
        [(f["p10"] - f["p50"]).to_numpy(dtype=float), (f["p90"] - f["p50"]).to_numpy(dtype=float)]
    )
    off = rolling_offsets(
        pd.DatetimeIndex(f["origin"]),
        pd.DatetimeIndex(f["target_time"]),
        resid,
        step,
        window_days,
        scale=f["p50"].to_numpy(dtype=float),
    )
    off = np.where(np.isnan(off), fallback, off)
    f["p10"] = f["p50"].to_numpy() + off[:, 0]
    f["p90"] = f["p50"].to_numpy() + off[:, 1]
    return f.sort_index()
