"""Issued forecasts as of an instant, a day's successive issues, and the daily peaks they imply.

The reading side of the loop's intraday re-issues (see :mod:`edip_api.db.issued`): the latest
issued forecast of each target hour as known at ``as_of``, every issue of one Paris day against
its actual, and the day's forecast peak (:mod:`edip_pipeline.peak`) scored once it is measured.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import pandas as pd

from edip_api.db import LogStore
from edip_api.db.issuances import DAY_AHEAD
from edip_api.db.issued import IssuedPoint, issued_points, latest_per_target
from edip_pipeline.calendar import local_day_bounds
from edip_pipeline.peak import daily_peaks

MAX_DAYS = 92


def measured(log_store: LogStore, start: datetime, end: datetime, as_of: datetime) -> pd.Series:
    """Hourly measured load of ``[start, end)`` known by ``as_of`` (an hour is known once over)."""
    stop = min(end, as_of)
    if stop <= start:
        return pd.Series(dtype=float)
    rows, _ = log_store.list_actuals(start, stop, limit=5000)
    known = [r for r in rows if r.consumption_mw is not None]
    known = [r for r in known if pd.Timestamp(r.timestamp) + pd.Timedelta(hours=1) <= as_of]
    return pd.Series(
        [float(r.consumption_mw) for r in known if r.consumption_mw is not None],
        index=pd.DatetimeIndex([pd.Timestamp(r.timestamp) for r in known]),
        dtype=float,
    )


def day_history(log_store: LogStore, day: str, as_of: datetime) -> dict[str, Any]:
    """Every issue of Paris day ``day`` made by ``as_of`` (oldest first), with the actual."""
    start, end = (t.to_pydatetime() for t in local_day_bounds(day))
    issues: dict[tuple[str, datetime], list[IssuedPoint]] = defaultdict(list)
    for p in issued_points(log_store, start, end, as_of):
        if p.target_day == day:
            issues[(p.kind, p.origin)].append(p)
    actual = measured(log_store, start, end, as_of)
    ordered = sorted(issues.items(), key=lambda kv: (kv[0][1], kv[1][0].issued_at))
    return {
        "day": day,
        "as_of": as_of,
        "issues": [
            {
                "kind": kind,
                "origin": origin,
                "issued_at": points[0].issued_at,
                "model_name": points[0].model_name,
                "model_version": points[0].model_version,
                "lead_h": (start - origin).total_seconds() / 3600.0,
                "points": [_point(p) for p in points],
            }
            for (kind, origin), points in ordered
        ],
        "actual": [
            {"timestamp": pd.Timestamp(t).to_pydatetime(), "consumption_mw": float(v)}
            for t, v in zip(actual.index, actual.to_numpy(), strict=True)
        ],
    }


def _point(p: IssuedPoint) -> dict[str, Any]:
    return {"target_time": p.target_time, "p10": p.p10, "p50": p.p50, "p90": p.p90}


def latest_issued(
    log_store: LogStore, start: datetime, end: datetime, as_of: datetime
) -> list[dict[str, Any]]:
    """The latest issued forecast of each target hour of ``[start, end)`` as of ``as_of``."""
    return [
        {**_point(p), "origin": p.origin, "issued_at": p.issued_at, "kind": p.kind,
         "lead_h": p.lead_h, "model_name": p.model_name, "model_version": p.model_version}
        for p in latest_per_target(issued_points(log_store, start, end, as_of))
    ]  # fmt: skip


def peaks(
    log_store: LogStore, first_day: str, last_day: str, as_of: datetime, kind: str = DAY_AHEAD
) -> list[dict[str, Any]]:
    """The forecast peak of each Paris day ``first_day..last_day`` — from its ``day-ahead``
    issue, or (``kind='latest'``) from the latest issue of each hour as of ``as_of`` — scored
    against the measured hours once the whole day is known."""
    start = local_day_bounds(first_day)[0].to_pydatetime()
    end = local_day_bounds(last_day)[1].to_pydatetime()
    points = issued_points(log_store, start, end, as_of)
    if kind == "latest":
        points = latest_per_target(points)
    else:
        points = [p for p in points if p.kind == kind]
    if not points:
        return []
    frame = pd.DataFrame(
        {"p10": [p.p10 for p in points], "p50": [p.p50 for p in points],
         "p90": [p.p90 for p in points]},
        index=pd.DatetimeIndex([pd.Timestamp(p.target_time) for p in points]),
    )  # fmt: skip
    frame = frame[~frame.index.duplicated(keep="last")].astype(float)
    table = daily_peaks(frame, measured(log_store, start, end, as_of))
    table = table[(table["day"] >= first_day) & (table["day"] <= last_day)]
    return [
        {str(k): (None if isinstance(v, float) and pd.isna(v) else v) for k, v in row.items()}
        for row in table.to_dict("records")
    ]
