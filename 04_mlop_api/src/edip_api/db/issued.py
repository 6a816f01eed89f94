"""The issued forecasts, as they stood at any instant: the loop's issuances joined to their points.

Why a join and not the predictions log alone: the log also holds every ad-hoc ``/v1/forecast``
request; what a user acted on is what the loop *issued* (day-ahead and intraday re-issues), each
recorded with its request id, kind and issue time. ``as_of`` reads the log as it was then: an
issue counts only once ``issued_at <= as_of`` — nothing issued later is ever shown as known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from .issuances import issuances_table
from .models import predictions_table


@dataclass(frozen=True)
class IssuedPoint:
    """One point of one issued forecast."""

    target_time: datetime
    origin: datetime
    issued_at: datetime
    kind: str
    target_day: str
    model_name: str
    model_version: str
    p10: float | None
    p50: float
    p90: float | None

    @property
    def lead_h(self) -> float:
        """Hours from the origin to the start of the target hour."""
        return (self.target_time - self.origin).total_seconds() / 3600.0


def issued_points(
    log_store: Any, start: datetime, end: datetime, as_of: datetime | None = None
) -> list[IssuedPoint]:
    """Every issued point with ``start <= target_time < end`` (issued by ``as_of`` if given),
    ordered by target time, then origin."""
    p, i = predictions_table, issuances_table
    columns = (p.c.target_time, p.c.origin, i.c.issued_at, i.c.kind, i.c.target_day,
               p.c.model_name, p.c.model_version, p.c.p10, p.c.p50, p.c.p90)  # fmt: skip
    query = (
        select(*columns)
        .join(i, i.c.request_id == p.c.request_id)
        .where(p.c.target_time >= start, p.c.target_time < end, i.c.issued_at.is_not(None))
        .order_by(p.c.target_time, p.c.origin, i.c.issued_at)
    )
    if as_of is not None:
        query = query.where(i.c.issued_at <= as_of)
    with log_store.engine.connect() as conn:
        return [IssuedPoint(**row) for row in conn.execute(query).mappings()]


def latest_per_target(points: list[IssuedPoint]) -> list[IssuedPoint]:
    """For each target time, the point of the latest issue (the latest origin, then issue time)."""
    best: dict[datetime, IssuedPoint] = {}
    for point in points:
        held = best.get(point.target_time)
        if held is None or (point.origin, point.issued_at) >= (held.origin, held.issued_at):
            best[point.target_time] = point
    return [best[t] for t in sorted(best)]
