"""Measured load per hour as the log store keeps it: the models' label and RTE's D-1 forecast.

Why here: both the daily loop's ``sync-actuals`` flow and ``edip replay`` bring the store's
measurements into the API's log store; the label definition (hourly means of
``load_national/consumption_mw``, :func:`edip_pipeline.features.load_target`) must be one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from edip_pipeline.features import load_target
from edip_pipeline.store import Store

HOUR = pd.Timedelta(hours=1)


def hourly_actuals(store: Store, start: pd.Timestamp, end: pd.Timestamp) -> list[dict[str, Any]]:
    """Hours ``[start, end)`` with a measured load or RTE's D-1 forecast, as ``/v1/actuals`` rows.

    Only complete hours are returned: an hour whose last half-hour is not stored yet (the
    current one, or data cut by a stale source) is left for a later sync.
    """
    last = store.last_timestamp("load_national", "consumption_mw")
    if last is None:
        return []
    complete_end = (last + pd.Timedelta("30min")).floor("h")
    t0, t1 = pd.Timestamp(start).ceil("h"), min(pd.Timestamp(end).floor("h"), complete_end)
    if t1 <= t0:
        return []
    targets = pd.date_range(t0, t1, freq="1h", inclusive="left")
    load = load_target(store, targets, "1h")
    rte = store.series("load_national", "forecast_d1_mw", start=t0, end=t1)
    rte_hourly = (
        rte.resample("1h").mean().reindex(targets) if len(rte) else pd.Series(np.nan, targets)
    )
    out = []
    for t in targets:
        value, d1 = load.get(t), rte_hourly.get(t)
        if pd.isna(value) and pd.isna(d1):
            continue
        out.append(
            {
                "timestamp": t.isoformat(),
                "consumption_mw": None if pd.isna(value) else float(value),
                "rte_forecast_d1_mw": None if pd.isna(d1) else float(d1),
            }
        )
    return out
