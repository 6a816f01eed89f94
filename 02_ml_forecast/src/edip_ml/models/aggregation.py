"""Online expert aggregation of backtest forecasts: ML-Poly with per-hour weights.

No maintained Python port of the R package ``opera`` is on PyPI, so the algorithm is the small,
documented :class:`edip_pipeline.online.MLPoly` (numpy only, shared with the serving side). Here
it is replayed leak-free over a backtest: the weights used for the forecasts issued at origin
``o`` have seen only outcomes whose target interval had ended by ``o`` (the day-ahead rows of
earlier origins). The state runs across refits (the weights, not the experts, are online).

Two variants are reported: ``combination`` over EDIP's own models, and ``combination_rte`` that
adds RTE's D-1 forecast (published before the 12:00 D-1 origin, data-sources §5.3) as an expert
where it is stored; an instant without it combines the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from edip_ml.models.online import paris_hours, with_conformal_band
from edip_pipeline.online import MLPoly

log = logging.getLogger(__name__)

COMBINATION = "combination"
COMBINATION_RTE = "combination_rte"


def aggregate(
    forecasts: pd.DataFrame,
    experts: Sequence[str],
    step: pd.Timedelta,
    name: str = COMBINATION,
    window_days: int = 56,
    gamma: float = 0.01,
    forget: float = 0.0,
) -> tuple[pd.DataFrame, MLPoly | None]:
    """The combination's forecasts frame (columns of ``forecasts``) and its final state
    (``attrs``: the experts kept and the final state of its conformal band).

    ``experts`` absent from ``forecasts`` are left out (logged); fewer than two → ``(empty, None)``.
    ``forget``: the ML-Poly discount of past regrets (:class:`edip_pipeline.online.MLPoly`).
    """
    present = [e for e in experts if e in set(forecasts["model"])]
    if len(present) < 2:
        log.info("%s: fewer than two experts among %s, skipped", name, list(experts))
        return forecasts.iloc[:0], None
    sub = forecasts[forecasts["model"].isin(present)]
    wide, actual = _wide(sub, present)
    origins = pd.DatetimeIndex(wide.index.get_level_values("origin")).as_unit("ns")
    targets = pd.DatetimeIndex(wide.index.get_level_values("target_time")).as_unit("ns")
    y = actual.to_numpy(dtype=float)
    p50, state = _replay(wide.to_numpy(dtype=float), y, origins, targets, step, forget)
    frame = pd.DataFrame(
        {
            "origin": origins,
            "target_time": targets,
            "model": name,
            "horizon_h": np.asarray((targets - origins) / pd.Timedelta(hours=1), dtype=float),
            "p10": np.nan,
            "p50": p50,
            "p90": np.nan,
            "actual": y,
        }
    )
    # until enough combination residuals are known, the experts' mean band is the fallback
    band = _experts_band(sub, wide.index)
    frame["p10"] = p50 + band["lo"].to_numpy()
    frame["p90"] = p50 + band["hi"].to_numpy()
    frame = with_conformal_band(frame, step, window_days, gamma)
    w = state.weights().mean(axis=0)
    log.info("%s: mean final weights %s", name, dict(zip(present, np.round(w, 3), strict=True)))
    out = frame[forecasts.columns]
    out.attrs.update(experts=present, conformal=frame.attrs["conformal"])
    return out, state


def _wide(sub: pd.DataFrame, present: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Experts' P50 as columns (in ``present`` order) per (origin, target_time), and the actual."""
    wide = sub.pivot_table(
        index=["origin", "target_time"], columns="model", values="p50", aggfunc="first"
    )
    wide = wide.reindex(columns=present)
    actual = sub.groupby(["origin", "target_time"])["actual"].first().reindex(wide.index)
    return wide, actual


def _replay(
    E: np.ndarray,
    y: np.ndarray,
    origins: pd.DatetimeIndex,
    targets: pd.DatetimeIndex,
    step: pd.Timedelta,
    forget: float = 0.0,
) -> tuple[np.ndarray, MLPoly]:
    """Combined P50 per row, origin by origin, after feeding the state every outcome whose
    target interval had ended by that origin (leak-free); returns the final state too."""
    hours = paris_hours(targets)
    state = MLPoly(E.shape[1], forget=forget)
    end_ns = np.asarray(targets.asi8) + step.value
    order = np.argsort(end_ns, kind="stable")
    p50 = np.full(len(E), np.nan)
    fed = 0
    for origin in np.unique(origins.asi8):
        known = int(np.searchsorted(end_ns[order], origin, side="right"))
        if known > fed:
            rows = order[fed:known]
            state.update(E[rows], y[rows], hours[rows])
            fed = known
        at = np.flatnonzero(origins.asi8 == origin)
        p50[at] = state.combine(E[at], hours[at])
    return p50, state


def _experts_band(sub: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Mean (P10 - P50, P90 - P50) of the experts per (origin, target_time): columns lo, hi."""
    return (
        sub.assign(lo=sub["p10"] - sub["p50"], hi=sub["p90"] - sub["p50"])
        .groupby(["origin", "target_time"])[["lo", "hi"]]
        .mean()
        .reindex(index)
    )
