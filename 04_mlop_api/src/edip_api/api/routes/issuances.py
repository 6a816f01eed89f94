"""The daily loop's records: ``/v1/issuances`` (what was issued for each day) and ``/v1/loop``.

``POST /v1/issuances`` (key) is how the ``issue-forecast`` flow records an issuance — once per
target day, never replaced — and, when its data-quality gate failed, the flagged fallback points
it issued instead of the champion (logged as predictions of the fallback model, so the metrics
score them like any served forecast). ``GET /v1/loop/status`` is what the dashboard shows of the
loop: the API's clock, the last issuance, the next one due, the actuals' age and the recent runs
of each loop flow from Prefect.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from edip_api.api.deps import ApiKey, ForecastsDep, LogStoreDep
from edip_api.db import LogStore
from edip_api.db.issuances import (
    DAY_AHEAD,
    KIND_PATTERN,
    IssuanceRecord,
    insert_issuance,
    list_issuances,
)
from edip_api.schemas import (
    DAY_PATTERN,
    MAX_LOAD_MW,
    Day,
    Instant,
    Text,
)
from edip_api.schemas_data import LoopRun
from edip_api.services.errors import InvalidRequestError
from edip_api.services.forecast import MAX_HORIZON_H
from edip_api.services.prediction_log import fallback_records, log_issued
from edip_api.services.prefect_runs import loop_runs
from edip_pipeline.calendar import PARIS

router = APIRouter(prefix="/v1", tags=["loop"])
log = logging.getLogger(__name__)

#: flows of the daily loop whose recent runs ``/v1/loop/status`` reports
LOOP_FLOWS = (
    "issue-forecast",
    "issue-intraday",
    "sync-actuals",
    "update",
    "retrain",
    "alerts",
    "ingest",
)
MAX_FALLBACK_POINTS = 48


class GateCheck(BaseModel):
    name: Text = Field(max_length=64, description="freshness, gaps or weather.")
    ok: bool
    detail: Text = Field(max_length=2000, description="What was measured against which threshold.")


class FallbackPoint(BaseModel):
    target_time: Instant
    p50: float = Field(
        ge=0, le=MAX_LOAD_MW, allow_inf_nan=False, description="Fallback P50, MW (finite)."
    )


class IssuanceIn(BaseModel):
    """One issuance of the loop (the flow fills every field from its own clock and gate)."""

    target_day: Day = Field(
        pattern=DAY_PATTERN, description="Paris target day D (YYYY-MM-DD, ASCII digits)."
    )
    status: str = Field(pattern="^(on_time|late|fallback|missed)$")
    kind: str = Field(
        DAY_AHEAD,
        pattern=KIND_PATTERN,
        description="'day-ahead' (D-1 12:00) or an intraday re-issue named after its Paris slot "
        "('intraday D-1 18:00', 'intraday D 09:00'); one issuance per (day, kind).",
    )
    lead_h: float | None = Field(
        None,
        ge=-24,
        le=48,
        allow_inf_nan=False,
        description="Hours from the origin to the start of D (negative: issued during D).",
    )
    due_at: Instant = Field(description="When the issuance was due (its slot, Paris).")
    issued_at: Instant | None = Field(None, description="The loop's clock when issued.")
    origin: Instant | None = Field(None, description="Forecast origin (null when missed).")
    late: bool = False
    fallback: bool = False
    model_name: Text | None = Field(None, max_length=200)
    model_version: Text | None = Field(None, max_length=64)
    weather_source: Text | None = Field(None, max_length=64)
    request_id: Text | None = Field(None, max_length=64)
    points: int = Field(
        0, ge=0, le=MAX_HORIZON_H, description="Points issued (at most the longest horizon)."
    )
    gate_ok: bool | None = None
    gate_checks: list[GateCheck] = Field(default_factory=list, max_length=16)
    detail: Text | None = Field(None, max_length=2000)
    fallback_points: list[FallbackPoint] = Field(
        default_factory=list, max_length=MAX_FALLBACK_POINTS
    )


class IssuanceOut(BaseModel):
    target_day: str
    kind: str
    lead_h: float | None
    status: str
    due_at: datetime
    issued_at: datetime | None
    origin: datetime | None
    late: bool
    fallback: bool
    model_name: str | None
    model_version: str | None
    weather_source: str | None
    request_id: str | None
    points: int
    gate_ok: bool | None
    gate_checks: list[GateCheck]
    detail: str | None
    created_at: datetime | None


class IssuanceWritten(BaseModel):
    created: bool = Field(
        description="False: the day already had an issuance of this kind (left as it was)."
    )
    issuance: IssuanceOut


class LoopStatus(BaseModel):
    now: datetime = Field(description="The API's clock (the loop's, in a simulation).")
    last_issuance: IssuanceOut | None
    next_issuance_at: datetime | None = Field(description="When the next issuance is due.")
    next_target_day: str | None
    last_actual: datetime | None
    actuals_age_h: float | None
    prefect_reachable: bool
    runs: list[LoopRun] = Field(description="Recent runs of each loop flow, newest first.")


def _out(record: IssuanceRecord) -> IssuanceOut:
    return IssuanceOut.model_validate(record, from_attributes=True)


def _write(log_store: LogStore, body: IssuanceIn) -> tuple[IssuanceRecord, bool]:
    values = body.model_dump(exclude={"fallback_points"})
    values["gate_checks"] = [c.model_dump() for c in body.gate_checks]
    record = IssuanceRecord(**values)
    if body.fallback_points:
        if not (body.request_id and body.model_name and body.origin):
            raise InvalidRequestError("fallback points need request_id, model_name and origin")
        records = fallback_records(
            body.request_id,
            body.model_name,
            body.model_version,
            body.origin,
            ((p.target_time, p.p50) for p in body.fallback_points),
        )
        log_issued(log_store, records)
    return insert_issuance(log_store, record)


@router.post(
    "/issuances",
    response_model=IssuanceWritten,
    dependencies=[ApiKey],
    summary="Record the issuance of a target day (once; a second write changes nothing)",
)
async def post_issuance(body: IssuanceIn, log_store: LogStoreDep) -> IssuanceWritten:
    for name in ("due_at", "issued_at", "origin"):
        value = getattr(body, name)
        if value is not None and value.tzinfo is None:
            raise InvalidRequestError(f"{name} needs a UTC offset")
    record, created = await run_in_threadpool(_write, log_store, body)
    return IssuanceWritten(created=created, issuance=_out(record))


@router.get("/issuances", response_model=list[IssuanceOut], summary="Issuances, newest first")
def get_issuances(
    log_store: LogStoreDep,
    start_day: Annotated[str | None, Query(pattern=DAY_PATTERN)] = None,
    end_day: Annotated[str | None, Query(pattern=DAY_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    kind: Annotated[
        str,
        Query(
            pattern=f"^all$|{KIND_PATTERN}",
            description="'day-ahead' (default), one intraday kind, or 'all'.",
        ),
    ] = DAY_AHEAD,
) -> list[IssuanceOut]:
    wanted = None if kind == "all" else kind
    return [_out(r) for r in list_issuances(log_store, start_day, end_day, limit, wanted)]


def _last_actual(log_store: LogStore, now: pd.Timestamp) -> datetime | None:
    start = (now - pd.Timedelta(days=92)).to_pydatetime()
    _page, total = log_store.list_actuals(start, now.to_pydatetime(), limit=1)
    if total == 0:
        return None
    last, _ = log_store.list_actuals(start, now.to_pydatetime(), limit=1, offset=total - 1)
    return last[0].timestamp if last else None


@router.get("/loop/status", response_model=LoopStatus, summary="The daily loop at a glance")
def loop_status(log_store: LogStoreDep, forecasts: ForecastsDep) -> LoopStatus:
    now = forecasts.now()
    recent = list_issuances(log_store, limit=1)
    last = recent[0] if recent else None
    next_at, next_day = None, None
    if last is not None:
        due = pd.Timestamp(last.due_at).tz_convert(PARIS)
        day = pd.Timestamp(last.target_day)
        while due.tz_convert("UTC") <= now:  # calendar days: 12:00 Paris stays 12:00 Paris
            due, day = due + pd.DateOffset(days=1), day + timedelta(days=1)
        next_at, next_day = due.tz_convert("UTC").to_pydatetime(), str(day.date())
    actual = _last_actual(log_store, now)
    age = (now.to_pydatetime() - actual).total_seconds() / 3600 if actual else None
    runs, reachable = loop_runs(LOOP_FLOWS)
    return LoopStatus(
        now=now.to_pydatetime(),
        last_issuance=_out(last) if last else None,
        next_issuance_at=next_at,
        next_target_day=next_day,
        last_actual=actual,
        actuals_age_h=age,
        prefect_reachable=reachable,
        runs=runs,
    )
