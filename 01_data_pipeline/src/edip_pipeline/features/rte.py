"""RTE's D-1 forecast as a feature (``rte_d1_mw``), with the rule saying when it was known.

Why a feature: the ``combination_rte`` model takes RTE's own day-ahead forecast as one of its
experts, so the serving side must read it from the store at the origin exactly as training did.
It is off by default (:attr:`~edip_pipeline.config.FeatureParams.rte_forecast` ``"none"``: no
column) and only that model turns it on; no other model learns from it.

Availability (ENTSO-E publication rule, EU Regulation 543/2013 art. 6): the forecast of Paris day
D is taken as known at :data:`KNOWN_HOUR` (10:00) Paris on D-1 (:func:`known_at`), two hours
before the day-ahead gate closure. A row whose origin is earlier gets NaN, so the 12:00 D-1
day-ahead origin sees D's forecast and an 08:00 origin does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS, as_utc_index
from edip_pipeline.contract import RTE_FEATURE
from edip_pipeline.store import Store

__all__ = ["KNOWN_HOUR", "RTE_FEATURE", "SOURCES", "RteSpec", "known_at", "rte_forecast_at"]

#: Paris hour of D-1 at which RTE's forecast of day D counts as known
KNOWN_HOUR = 10


@dataclass(frozen=True)
class RteSpec:
    """Where one source keeps RTE's D-1 forecast and the actual to score it against."""

    name: str
    dataset: str
    forecast: str
    actual: str
    step: pd.Timedelta


SOURCES: dict[str, RteSpec] = {
    "odre": RteSpec(
        "odre", "load_national", "forecast_d1_mw", "consumption_mw", pd.Timedelta("30min")
    ),
    "entsoe": RteSpec(
        "entsoe", "load_entsoe", "entsoe_forecast_d1_mw", "entsoe_actual_mw", pd.Timedelta("1h")
    ),
}


def known_at(targets: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """When RTE's forecast of each target was known: 10:00 Paris the day before its Paris day."""
    local = pd.DatetimeIndex(targets).tz_convert(PARIS).tz_localize(None).normalize()
    naive = local - pd.Timedelta(days=1) + pd.Timedelta(hours=KNOWN_HOUR)
    return pd.DatetimeIndex(naive.tz_localize(PARIS).tz_convert("UTC")).as_unit("ns")


def at_targets(
    store: Store, spec: RteSpec, variable: str, targets: pd.DatetimeIndex, step: pd.Timedelta
) -> np.ndarray:
    """Mean of the source's values over each ``[t, t + step)``; a step finer than the source's
    takes the value of the source interval holding ``t``."""
    t0, t1 = targets.min().floor(spec.step), targets.max() + max(step, spec.step)
    raw = store.series(spec.dataset, variable, "FR", t0, t1).dropna()
    if raw.empty:
        return np.full(len(targets), np.nan)
    raw.index = pd.DatetimeIndex(raw.index).as_unit("ns")
    raw = raw[~raw.index.duplicated(keep="last")].sort_index()
    if step >= spec.step:
        at = raw.resample(step, origin="epoch").mean().reindex(targets)
    else:
        at = raw.reindex(targets, method="ffill", tolerance=spec.step - pd.Timedelta(1, "ns"))
    return at.to_numpy(dtype=float, copy=True)


def rte_forecast_at(
    store: Store,
    source: str,
    targets: pd.DatetimeIndex,
    step: pd.Timedelta,
    origins: pd.DatetimeIndex | None = None,
) -> np.ndarray:
    """RTE's D-1 forecast from ``source`` at ``targets``; NaN where not yet known at ``origins``
    (one per target) or not stored."""
    idx = as_utc_index(targets)
    if not len(idx):
        return np.array([], dtype=float)
    spec = SOURCES[source]
    forecast = at_targets(store, spec, spec.forecast, idx, step)
    if origins is not None:
        forecast[known_at(idx).asi8 > as_utc_index(origins).asi8] = np.nan
    return forecast
