"""``/v1/issued``: what the loop had issued for each hour as of an instant, a day's successive
issues against its actual, and the daily peaks (:mod:`edip_api.services.issued`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from edip_api.api.deps import ForecastsDep, LogStoreDep
from edip_api.db.issuances import DAY_AHEAD, KIND_PATTERN
from edip_api.schemas import DAY_PATTERN, Day, Instant
from edip_api.schemas_peak import DailyPeak
from edip_api.services.errors import InvalidRequestError
from edip_api.services.forecast import utc
from edip_api.services.issued import MAX_DAYS, day_history, latest_issued, peaks
from edip_pipeline.calendar import PARIS, local_day_bounds

router = APIRouter(prefix="/v1/issued", tags=["issued"])

AsOf = Annotated[
    Instant | None,
    Query(description="Read the issues as they stood then (default now): issued_at ≤ as_of."),
]


class IssuedValue(BaseModel):
    target_time: datetime = Field(description="Start of the hour forecast (UTC).")
    p10: float | None
    p50: float
    p90: float | None


class LatestValue(IssuedValue):
    origin: datetime
    issued_at: datetime
    kind: str = Field(description="'day-ahead' or the intraday slot of the issue it comes from.")
    lead_h: float = Field(description="Hours from that issue's origin to the target.")
    model_name: str
    model_version: str


class LatestIssued(BaseModel):
    as_of: datetime
    points: list[LatestValue]


class Issue(BaseModel):
    kind: str
    origin: datetime
    issued_at: datetime
    model_name: str
    model_version: str
    lead_h: float = Field(description="Hours from the origin to the start of the day.")
    points: list[IssuedValue]


class Measured(BaseModel):
    timestamp: datetime
    consumption_mw: float


class DayHistory(BaseModel):
    day: str
    as_of: datetime
    issues: list[Issue] = Field(description="Every issue of the day made by as_of, oldest first.")
    actual: list[Measured] = Field(description="Hours of the day measured by as_of.")


def _as_of(value: datetime | None, forecasts: ForecastsDep) -> datetime:
    return (utc(value) if value is not None else forecasts.now()).to_pydatetime()


@router.get("", response_model=LatestIssued, summary="Latest issued forecast per hour, as of")
async def get_latest(
    log_store: LogStoreDep,
    forecasts: ForecastsDep,
    start: Annotated[Instant | None, Query(description="Default: as_of's Paris day.")] = None,
    end: Annotated[Instant | None, Query(description="Default: start + 48 h.")] = None,
    as_of: AsOf = None,
) -> LatestIssued:
    """For each target hour of [start, end), the forecast of the latest issue (day-ahead or
    intraday) made by ``as_of``: what a user of EDIP saw at that instant."""
    when = _as_of(as_of, forecasts)
    t0 = (
        utc(start)
        if start is not None
        else local_day_bounds(pd.Timestamp(when).tz_convert(PARIS))[0]
    )
    t1 = utc(end) if end is not None else t0 + pd.Timedelta(hours=48)
    if not t0 < t1 <= t0 + pd.Timedelta(days=MAX_DAYS):
        raise InvalidRequestError(f"need start < end within {MAX_DAYS} days")
    rows = await run_in_threadpool(
        latest_issued, log_store, t0.to_pydatetime(), t1.to_pydatetime(), when
    )
    return LatestIssued.model_validate({"as_of": when, "points": rows})


@router.get("/history", response_model=DayHistory, summary="Every issue of one day, and its actual")
async def get_history(
    log_store: LogStoreDep,
    forecasts: ForecastsDep,
    day: Annotated[Day, Query(pattern=DAY_PATTERN, description="Paris target day.")],
    as_of: AsOf = None,
) -> DayHistory:
    """How the forecast of ``day`` evolved: the day-ahead, then each intraday re-issue."""
    when = _as_of(as_of, forecasts)
    body = await run_in_threadpool(day_history, log_store, day, when)
    return DayHistory.model_validate(body)


@router.get("/peaks", response_model=list[DailyPeak], summary="Daily forecast peaks, scored")
async def get_peaks(
    log_store: LogStoreDep,
    forecasts: ForecastsDep,
    start_day: Annotated[Day, Query(pattern=DAY_PATTERN)],
    end_day: Annotated[Day | None, Query(pattern=DAY_PATTERN)] = None,
    kind: Annotated[
        str,
        Query(
            pattern=f"^latest$|{KIND_PATTERN}",
            description="Whose peak: 'day-ahead' (default), an intraday kind, or 'latest' (the "
            "latest issue of each hour as of as_of).",
        ),
    ] = DAY_AHEAD,
    as_of: AsOf = None,
) -> list[DailyPeak]:
    """Per day: the forecast peak (MW, Paris hour, P10–P90 at that hour) and, once measured,
    its MW error and whether the hour was right."""
    last = end_day or start_day
    span = (pd.Timestamp(last) - pd.Timestamp(start_day)).days
    if not 0 <= span < MAX_DAYS:
        raise InvalidRequestError(f"end_day must be within {MAX_DAYS} days after start_day")
    rows = await run_in_threadpool(
        peaks, log_store, start_day, last, _as_of(as_of, forecasts), kind
    )
    return [DailyPeak.model_validate(r) for r in rows]
