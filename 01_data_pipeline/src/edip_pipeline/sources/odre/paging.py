"""Opendatasoft query windows: UTC bounds of a period, ``where`` clauses, window halving (for
the ``/records`` offset cap) and month/year chunks (one ``/exports`` call each)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pandas as pd

from edip_pipeline.calendar import PARIS, local_day_bounds
from edip_pipeline.sources.base import Period
from edip_pipeline.sources.odre.datasets import OdreDataset


def day_ceil(ts: pd.Timestamp) -> pd.Timestamp:
    """First Paris midnight at or after ``ts`` (in UTC)."""
    local = ts.tz_convert(PARIS)
    midnight = local_day_bounds(local.date())[0]
    return midnight if midnight >= ts else local_day_bounds(local.date() + timedelta(days=1))[0]


def window(spec: OdreDataset, period: Period) -> tuple[pd.Timestamp, pd.Timestamp]:
    """UTC bounds to query; for daily data, the days whose local midnight lies in ``period``."""
    start, end = period.start.tz_convert("UTC"), period.end.tz_convert("UTC")
    if spec.kind == "temperature":
        return day_ceil(start), day_ceil(end)
    return start, end


def where(spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp) -> str:
    """The ODSQL ``where`` clause of ``[lo, hi)`` on the dataset's time field."""
    if spec.kind == "temperature":
        d0, d1 = lo.tz_convert(PARIS).date(), hi.tz_convert(PARIS).date()
        return f"date >= date'{d0.isoformat()}' and date < date'{d1.isoformat()}'"
    fmt = "%Y-%m-%dT%H:%M:%S"
    return f"date_heure >= '{lo.strftime(fmt)}+00:00' and date_heure < '{hi.strftime(fmt)}+00:00'"


def split_window(
    spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Midpoint of a window (a Paris midnight for daily data), or None if it can't be split."""
    if spec.kind == "temperature":
        d0, d1 = lo.tz_convert(PARIS).date(), hi.tz_convert(PARIS).date()
        days = (d1 - d0).days
        if days < 2:
            return None
        mid = local_day_bounds(d0 + timedelta(days=days // 2))[0]
    else:
        mid = (lo + (hi - lo) / 2).floor("min")
    return (lo, mid) if lo < mid < hi else None


def chunks(
    spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Cut ``[lo, hi)`` at Paris month (or year) starts: one export call per chunk."""
    local = lo.tz_convert(PARIS)
    first = pd.Timestamp(year=local.year, month=local.month, day=1)
    freq = "YS" if spec.chunk_months >= 12 else f"{spec.chunk_months}MS"
    if spec.chunk_months >= 12:
        first = pd.Timestamp(year=local.year, month=1, day=1)
    edges = pd.date_range(first, hi.tz_convert(PARIS).tz_localize(None), freq=freq)
    cuts = [lo] + [e for e in (local_day_bounds(x.date())[0] for x in edges) if lo < e < hi] + [hi]
    return list(itertools.pairwise(cuts))


def query_params(spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp) -> dict[str, Any]:
    """Query of ``[lo, hi)`` shared by ``/records`` and ``/exports`` (UTC rendering, time order)."""
    params: dict[str, Any] = {
        "where": where(spec, lo, hi),
        "order_by": spec.time_field,
        "timezone": "UTC",
    }
    if spec.select:
        params["select"] = spec.select
    return params
