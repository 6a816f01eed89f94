"""Online expert aggregation of backtest forecasts: ML-Poly with per-hour weights.

No maintained Python port of the R package ``opera`` is on PyPI, so the algorithm is the small,
documented :class:`edip_pipeline.online.MLPoly` (numpy only, shared with the serving side). Here
it is walked forward over a backtest by the one engine (:mod:`edip_ml.models.walk_forward`): the
weights and the band used for the forecasts issued at origin ``o`` have seen only the days over by
``o``. The state runs across refits (the weights, not the experts, are online).

Two variants are reported: ``combination`` over EDIP's own models, and ``combination_rte`` that
adds RTE's D-1 forecast (published before the 12:00 D-1 origin, data-sources §5.3) as an expert
where it is stored; an instant without it combines the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from edip_ml.models.walk_forward import (
    WHOLE_DAYS,
    AbsorbRule,
    WalkForward,
    new_band,
    paris_hours,
    targets_of,
)
from edip_pipeline.online import MLPoly

log = logging.getLogger(__name__)

COMBINATION = "combination"
COMBINATION_RTE = "combination_rte"


class ExpertWeights:
    """ML-Poly over the experts' P50 columns, as the engine steps it (``X``: one column per
    expert, then ``lo``/``hi``, the experts' mean band: the fallback until the band has one)."""

    def __init__(self, name: str, experts: list[str], forget: float = 0.0) -> None:
        self.name = name
        self.experts = experts
        self.state = MLPoly(len(experts), forget=forget)

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        hours = paris_hours(targets_of(X))
        p50 = self.state.combine(X[self.experts].to_numpy(dtype=float), hours)
        lo, hi = X["lo"].to_numpy(dtype=float), X["hi"].to_numpy(dtype=float)
        return pd.DataFrame({"p10": p50 + lo, "p50": p50, "p90": p50 + hi}, index=X.index)

    def absorb(self, X: pd.DataFrame, y: pd.Series) -> np.ndarray:
        values = y.to_numpy(dtype=float)
        E = X[self.experts].to_numpy(dtype=float)
        self.state.update(E, values, paris_hours(targets_of(X)))
        return ~np.isfinite(values)


def aggregate(
    forecasts: pd.DataFrame,
    experts: Sequence[str],
    name: str = COMBINATION,
    window_days: int = 56,
    gamma: float = 0.01,
    forget: float = 0.0,
    rule: AbsorbRule = WHOLE_DAYS,
) -> tuple[pd.DataFrame, MLPoly | None]:
    """The combination's forecasts frame (columns of ``forecasts``) and its final state
    (``attrs``: the experts kept and the final state of its conformal band, every outcome in).

    ``experts`` absent from ``forecasts`` are left out (logged); fewer than two → ``(empty, None)``.
    ``forget``: the ML-Poly discount of past regrets (:class:`edip_pipeline.online.MLPoly`);
    ``rule``: when an outcome is absorbed (``ml.absorb_lag``, the backtest's).
    """
    present = [e for e in experts if e in set(forecasts["model"])]
    if len(present) < 2:
        log.info("%s: fewer than two experts among %s, skipped", name, list(experts))
        return forecasts.iloc[:0], None
    sub = forecasts[forecasts["model"].isin(present)]
    wide, actual = _wide(sub, present)
    wide = wide.join(_experts_band(sub, wide.index))
    origins = pd.DatetimeIndex(wide.index.get_level_values("origin")).as_unit("ns")
    targets = pd.DatetimeIndex(wide.index.get_level_values("target_time")).as_unit("ns")
    weights = ExpertWeights(name, present, forget)
    engine = WalkForward(weights, new_band(window_days, gamma), rule)
    q = engine.run(wide, actual)
    engine.finish()
    frame = pd.DataFrame(
        {
            "origin": origins,
            "target_time": targets,
            "model": name,
            "horizon_h": np.asarray((targets - origins) / pd.Timedelta(hours=1), dtype=float),
            "p10": q["p10"].to_numpy(),
            "p50": q["p50"].to_numpy(),
            "p90": q["p90"].to_numpy(),
            "actual": actual.to_numpy(dtype=float),
        }
    )
    state = weights.state
    w = state.weights().mean(axis=0)
    log.info("%s: mean final weights %s", name, dict(zip(present, np.round(w, 3), strict=True)))
    out = frame[forecasts.columns]
    assert engine.band is not None
    out.attrs.update(experts=present, conformal=engine.band.to_dict())
    return out, state


def _wide(sub: pd.DataFrame, present: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Experts' P50 as columns (in ``present`` order) per (origin, target_time), and the actual."""
    wide = sub.pivot_table(
        index=["origin", "target_time"], columns="model", values="p50", aggfunc="first"
    )
    wide = wide.reindex(columns=present)
    wide.columns = pd.Index(present)
    actual = sub.groupby(["origin", "target_time"])["actual"].first().reindex(wide.index)
    return wide, actual


def _experts_band(sub: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Mean (P10 - P50, P90 - P50) of the experts per (origin, target_time): columns lo, hi."""
    return (
        sub.assign(lo=sub["p10"] - sub["p50"], hi=sub["p90"] - sub["p50"])
        .groupby(["origin", "target_time"])[["lo", "hi"]]
        .mean()
        .reindex(index)
    )
