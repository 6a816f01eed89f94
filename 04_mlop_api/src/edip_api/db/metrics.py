"""Accuracy of the served forecasts against actuals: the ``/v1/metrics/summary`` rule.

For each model version and target time, the forecast counted is the latest-origin *day-ahead* one
(origin ≤ target − 12 h) among ``/v1/forecast`` points — intraday re-issues of the loop left out
(their lead can exceed 12 h too: the D-1 18:00 one), so the score stays the day-ahead's; MAPE is a fraction, bias = mean(forecast −
actual) in MW. RTE's own D-1 forecast is scored on the same window as a benchmark. Days are UTC
calendar days (JSON timestamps are UTC throughout the API).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Interval,
    Select,
    and_,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.engine import Connection

from .issuances import DAY_AHEAD, issuances_table
from .models import actuals_table, predictions_table

#: the actual every served forecast and RTE's D-1 are scored against (ENTSO-E's actual, another
#: perimeter, sits about 600 MW below it: a comparison names its actual)
ACTUAL_SCORED = (
    "actuals.consumption_mw: ODRÉ éCO2mix consumption, hourly mean of "
    "load_national/consumption_mw (the models' label)"
)
#: a forecast is day-ahead when issued at least this long before its target
DAY_AHEAD_MIN_LEAD = timedelta(hours=12)


@dataclass
class MetricsSummary:
    """What ``/v1/metrics/summary`` returns; :meth:`as_dict` is its JSON shape minus ``window``."""

    start: datetime
    end: datetime
    models: list[dict[str, Any]] = field(default_factory=list)
    rte_d1: dict[str, Any] | None = None
    daily: list[dict[str, Any]] = field(default_factory=list)
    actual: str = ACTUAL_SCORED

    def as_dict(self) -> dict[str, Any]:
        return {
            "actual": self.actual,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "models": [dict(m) for m in self.models],
            "rte_d1": dict(self.rte_d1) if self.rte_d1 is not None else None,
            "daily": [dict(d) for d in self.daily],
        }


def error_stats(pairs: Iterable[tuple[float, float]]) -> dict[str, Any]:
    """n, MAPE (fraction; actuals of 0 left out of it), MAE and bias of (forecast, actual) pairs."""
    n = 0
    abs_sum = err_sum = ape_sum = 0.0
    ape_n = 0
    for forecast, actual in pairs:
        error = forecast - actual
        n += 1
        err_sum += error
        abs_sum += abs(error)
        if actual != 0:
            ape_sum += abs(error) / abs(actual)
            ape_n += 1
    return {
        "n": n,
        "mape": ape_sum / ape_n if ape_n else None,
        "mae": abs_sum / n if n else None,
        "bias": err_sum / n if n else None,
    }


def _lead_ok(conn: Connection) -> ColumnElement[bool]:
    """origin ≤ target_time − 12 h, in the dialect's own time arithmetic."""
    p = predictions_table
    if conn.dialect.name == "sqlite":  # naive-UTC text: compare epoch seconds exactly
        seconds = cast(func.strftime("%s", p.c.target_time), Integer) - cast(
            func.strftime("%s", p.c.origin), Integer
        )
        return seconds >= int(DAY_AHEAD_MIN_LEAD.total_seconds())
    return p.c.origin <= p.c.target_time - literal(DAY_AHEAD_MIN_LEAD, Interval())


def compute_summary(conn: Connection, start: datetime, end: datetime) -> MetricsSummary:
    """Score the counted forecasts of [start, end) on ``conn``."""
    per_model, per_day = _group_pairs(conn.execute(_counted_forecasts(conn, start, end)))
    rte = _rte_d1_stats(conn, start, end)
    return MetricsSummary(
        start=start,
        end=end,
        models=[
            {"model_name": name, "model_version": version, **error_stats(pairs)}
            for (name, version), pairs in sorted(per_model.items())
        ],
        rte_d1=rte if rte["n"] else None,
        daily=[
            {"date": day, "model_name": name, "model_version": version, **error_stats(pairs)}
            for (day, name, version), pairs in sorted(per_day.items())
        ],
    )


def _counted_forecasts(conn: Connection, start: datetime, end: datetime) -> Select[Any]:
    """(model, version, target, P50, actual) of the forecast counted per target (module rule)."""
    p, a, i = predictions_table, actuals_table, issuances_table
    reissued = select(i.c.request_id).where(i.c.kind != DAY_AHEAD, i.c.request_id.is_not(None))
    rank = (
        func.row_number()
        .over(
            partition_by=(p.c.model_name, p.c.model_version, p.c.target_time),
            order_by=(p.c.origin.desc(), p.c.created_at.desc(), p.c.id.desc()),
        )
        .label("rank")
    )
    candidates = (
        select(p.c.model_name, p.c.model_version, p.c.target_time, p.c.p50, rank)
        .where(
            p.c.endpoint == "forecast",
            p.c.target_time >= start,
            p.c.target_time < end,
            _lead_ok(conn),
            p.c.request_id.not_in(reissued),
        )
        .subquery("candidates")
    )
    return (
        select(
            candidates.c.model_name,
            candidates.c.model_version,
            candidates.c.target_time,
            candidates.c.p50,
            a.c.consumption_mw,
        )
        .join(
            a,
            and_(a.c.timestamp == candidates.c.target_time, a.c.consumption_mw.is_not(None)),
        )
        .where(candidates.c.rank == 1)
        .order_by(candidates.c.model_name, candidates.c.model_version, candidates.c.target_time)
    )


_Pairs = list[tuple[float, float]]


def _group_pairs(
    rows: Iterable[Any],
) -> tuple[dict[tuple[str, str], _Pairs], dict[tuple[str, str, str], _Pairs]]:
    """(forecast, actual) pairs per (model, version) and per (UTC day, model, version)."""
    per_model: dict[tuple[str, str], _Pairs] = defaultdict(list)
    per_day: dict[tuple[str, str, str], _Pairs] = defaultdict(list)
    for name, version, target_time, p50, actual in rows:
        pair = (float(p50), float(actual))
        per_model[(name, version)].append(pair)
        day = target_time.date().isoformat()  # target_time is aware UTC (models.UTCDateTime)
        per_day[(day, name, version)].append(pair)
    return per_model, per_day


def _rte_d1_stats(conn: Connection, start: datetime, end: datetime) -> dict[str, Any]:
    """RTE's own D-1 forecast scored on the same window (the benchmark)."""
    a = actuals_table
    rte_rows = conn.execute(
        select(a.c.rte_forecast_d1_mw, a.c.consumption_mw).where(
            a.c.timestamp >= start,
            a.c.timestamp < end,
            a.c.consumption_mw.is_not(None),
            a.c.rte_forecast_d1_mw.is_not(None),
        )
    ).all()
    return error_stats((float(f), float(y)) for f, y in rte_rows)
