"""A live Open-Meteo forecast run stored as vintages, in the previous-runs format, so that
tomorrow's training reads today's forecast as it was known at each origin."""

from __future__ import annotations

import pandas as pd

from edip_pipeline.schema import COLUMNS, empty_frame
from edip_pipeline.sources.openmeteo.datasets import PREVIOUS_RUNS_LEADS


def forecast_vintages(frame: pd.DataFrame, issued: pd.Timestamp) -> pd.DataFrame:
    """A live forecast run as vintages: ``<var>_previous_dayN``, ``N = floor((t − issued) / 24 h)``.

    Only leads in :data:`PREVIOUS_RUNS_LEADS` are kept; ``source`` gets ``@<issue time>``.
    """
    if frame.empty:
        return empty_frame()
    lead = (frame["timestamp"] - issued) // pd.Timedelta(days=1)
    keep = lead.isin(list(PREVIOUS_RUNS_LEADS))
    out = frame[keep].copy()
    out["variable"] = out["variable"] + "_previous_day" + lead[keep].astype(int).astype(str)
    out["source"] = out["source"] + "@" + issued.strftime("%Y-%m-%dT%H:%MZ")
    return out.sort_values(["timestamp", "area", "variable"]).reset_index(drop=True)[COLUMNS]
