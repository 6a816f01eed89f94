"""Data-health computations: dataset freshness against the dashboard's now, and day coverage.

Why not the API's ``age_hours`` alone: during a replay the API may measure age against the wall
clock; the dashboard judges freshness on its own (possibly replayed) now, like the alert rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from edip_dashboard.clock import PARIS, parse_time


def freshness(
    datasets: Sequence[Mapping[str, Any]], now: datetime, stale_hours: float
) -> pd.DataFrame:
    """One row per dataset: rows, first/last (Paris), age in hours at ``now``, gaps, status."""
    rows = []
    for ds in datasets:
        last = parse_time(ds.get("last"))
        first = parse_time(ds.get("first"))
        age = (now - last).total_seconds() / 3600 if last else ds.get("age_hours")
        rows.append(
            {
                "dataset": ds.get("dataset"),
                "variable": ds.get("variable"),
                "rows": ds.get("rows"),
                "first (Paris)": pd.Timestamp(first).tz_convert(PARIS) if first else None,
                "last (Paris)": pd.Timestamp(last).tz_convert(PARIS) if last else None,
                "age_h": None if age is None else round(float(age), 1),
                "missing_steps": ds.get("missing_steps"),
                "data_version": ds.get("data_version"),
                "status": "no data"
                if age is None
                else ("stale" if float(age) > stale_hours else "fresh"),
            }
        )
    return pd.DataFrame(
        rows,
        columns=["dataset", "variable", "rows", "first (Paris)", "last (Paris)", "age_h",
                 "missing_steps", "data_version", "status"],
    )  # fmt: skip


def coverage_by_day(values: pd.Series, start: datetime, end: datetime) -> pd.DataFrame:
    """Per Paris day in ``[start, end)``: hours with a non-null value and their share of the day.

    ``values`` is indexed by UTC timestamps (hourly or finer: a value anywhere in an hour counts
    the hour). Days with nothing appear with share 0, so gaps are visible.
    """
    days = pd.date_range(
        pd.Timestamp(start).tz_convert(PARIS).normalize(),
        pd.Timestamp(end).tz_convert(PARIS).normalize(),
        freq="D",
    )
    present = values.dropna()
    hours = (
        pd.DatetimeIndex(present.index).tz_convert("UTC").floor("h").unique().tz_convert(PARIS)
        if len(present)
        else pd.DatetimeIndex([], tz=PARIS)
    )
    counts = (
        pd.Series(1, index=hours).groupby(hours.date).sum() if len(hours) else pd.Series(dtype=int)
    )
    out = pd.DataFrame({"date": [d.date() for d in days]})
    # a Paris day has 23, 24 or 25 hours (DST)
    bounds = pd.date_range(days[0], periods=len(days) + 1, freq="D") if len(days) else days
    out["hours_in_day"] = (
        (pd.Series(bounds).diff().dropna() / pd.Timedelta(hours=1)).astype(int).to_numpy()
    )
    out["hours"] = out["date"].map(counts).fillna(0).astype(int)
    out["share"] = (out["hours"] / out["hours_in_day"]).clip(upper=1.0)
    return out
