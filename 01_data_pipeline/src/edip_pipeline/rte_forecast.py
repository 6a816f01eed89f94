"""RTE's D-1 forecast at given targets, from whichever source the store holds, with the actual
it must be scored against.

Why one function: RTE's day-ahead forecast is both the benchmark and an expert, and it comes
from two sources that measure different things. ODRÉ (éCO2mix, or the RTE API) publishes
``load_national/forecast_d1_mw`` (30 min) next to the consumption EDIP forecasts; ENTSO-E
publishes ``load_entsoe/entsoe_forecast_d1_mw`` (hourly) for every year since 2015 next to its
own actual, about 600 MW below ODRÉ's consumption (another perimeter). A forecast is only
compared with the actual of its own source, so :class:`RteD1` carries both and names them.

Availability: the forecast for Paris day D is taken as known at 10:00 Paris on D-1
(:func:`edip_pipeline.features.rte.known_at`): it is published at least two hours before the
day-ahead gate closure (12:00 CET). Values for targets whose origin is earlier are NaN.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from edip_pipeline.calendar import as_utc_index, step_timedelta
from edip_pipeline.features.load import load_target
from edip_pipeline.features.rte import SOURCES, at_targets, known_at, rte_forecast_at
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

__all__ = ["SOURCES", "RteD1", "RteSourceName", "known_at", "rte_d1"]

RteSourceName = Literal["auto", "odre", "entsoe"]


@dataclass(frozen=True)
class RteD1:
    """RTE's D-1 forecast per target, the source it came from, and that source's actual."""

    source: str  # "odre", "entsoe" or "none"
    forecast: np.ndarray
    actual: np.ndarray
    #: ``dataset/variable`` of the actual the forecast is scored against
    actual_name: str

    @property
    def label(self) -> str:
        """``"rte_d1 from entsoe (scored against load_entsoe/entsoe_actual_mw)"``."""
        return f"rte_d1 from {self.source} (scored against {self.actual_name})"

    def coverage(self) -> float:
        return float(np.mean(~np.isnan(self.forecast))) if len(self.forecast) else 0.0


def rte_d1(
    store: Store,
    targets: pd.DatetimeIndex,
    step: str | pd.Timedelta = "1h",
    *,
    origins: pd.DatetimeIndex | None = None,
    source: RteSourceName = "auto",
) -> RteD1:
    """RTE's D-1 forecast at ``targets`` (bucket means over ``step``) and the matching actual.

    ``source="auto"`` takes the source covering the most targets (ODRÉ on a tie: its actual is
    EDIP's own label). ``origins`` (one per target): values not yet known at the target's
    origin (:func:`known_at`) are NaN. Sources are never mixed within one call.
    """
    idx = as_utc_index(targets)
    td = step_timedelta(step)
    empty = np.full(len(idx), np.nan)
    if not len(idx):
        return RteD1("none", empty, empty, "none")
    names = list(SOURCES) if source == "auto" else [source]
    best: tuple[float, str, np.ndarray] = (0.0, "none", empty)
    for name in names:
        forecast = rte_forecast_at(store, name, idx, td, origins)
        share = float(np.mean(~np.isnan(forecast)))
        if share > best[0]:
            best = (share, name, forecast)
    _, name, forecast = best
    if name == "none":
        log.info("rte_d1: no RTE D-1 forecast stored for these targets (%s)", ", ".join(names))
        return RteD1("none", empty, empty, "none")
    spec = SOURCES[name]
    if name == "odre":  # the label's own definition: one bucket rule for models and RTE
        actual = load_target(store, idx, td).to_numpy(dtype=float)
    else:
        actual = at_targets(store, spec, spec.actual, idx, td)
    out = RteD1(name, forecast, actual, f"{spec.dataset}/{spec.actual}")
    log.info("%s: %.1f%% of targets", out.label, 100 * out.coverage())
    return out
