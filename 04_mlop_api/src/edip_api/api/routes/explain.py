"""``/v1/forecast/explain``: why an issued forecast says what it says.

``POST`` (key) is how the loop stores the decomposition it computed with the model library at
issue time: every point's P50 split into the named contributions of
:data:`edip_pipeline.contributions.CONTRIBUTIONS`. The API checks that each point adds up to its
P50 and that the P50 is the one it served and logged under the request id (within 1 MW), then
keeps it once. ``GET`` returns it by target day or request id; where no decomposition exists (the
fallback was issued, a network champion, nothing recorded) it says why, with ``available: false``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from edip_api.api.deps import ApiKey, LogStoreDep
from edip_api.db import LogStore
from edip_api.db.explanations import ExplanationRecord, find_explanation, insert_explanation
from edip_api.db.issuances import list_issuances
from edip_api.schemas import DAY_PATTERN, MAX_LOAD_MW, Day, Instant, Text
from edip_api.services.errors import InvalidRequestError, ServiceError
from edip_api.services.forecast import MAX_HORIZON_H
from edip_pipeline.calendar import PARIS
from edip_pipeline.contributions import CONTRIBUTIONS, unknown_names

router = APIRouter(prefix="/v1", tags=["forecast"])

#: how far a point's contributions may be from its P50, and its P50 from the one logged (MW)
TOLERANCE_MW = 1.0


class ExplainedPointIn(BaseModel):
    target_time: Instant
    p50: float = Field(ge=0, le=MAX_LOAD_MW, allow_inf_nan=False, description="P50 served, MW.")
    contributions: dict[str, float] = Field(
        max_length=len(CONTRIBUTIONS),
        description="Named contribution → MW; they add up to the P50 (within 1 MW).",
    )


class ExplanationIn(BaseModel):
    """The decomposition of one issued forecast, computed by the loop."""

    request_id: Text = Field(max_length=64, description="Request id the forecast was logged under.")
    target_day: Day = Field(pattern=DAY_PATTERN, description="Paris target day (YYYY-MM-DD).")
    origin: Instant
    model_name: Text = Field(max_length=200)
    model_version: Text = Field("", max_length=64)
    method: Text | None = Field(
        None, max_length=200, description="How it was computed (GAM effects, TreeSHAP, …)."
    )
    available: bool = Field(True, description="False: no decomposition exists (reason says why).")
    reason: Text | None = Field(None, max_length=2000)
    points: list[ExplainedPointIn] = Field(default_factory=list, max_length=MAX_HORIZON_H)


class Contribution(BaseModel):
    name: str
    label: str = Field(description="What it means, in words.")


class ExplainedPoint(BaseModel):
    target_time: datetime
    target_time_paris: datetime
    p50: float
    contributions: dict[str, float]


class ForecastExplanation(BaseModel):
    """Why a forecast says what it says (or why it cannot be told)."""

    target_day: str
    request_id: str | None
    origin: datetime | None
    model_name: str | None
    model_version: str | None
    method: str | None
    available: bool
    reason: str | None = Field(description="Why no decomposition exists (null when available).")
    contributions: list[Contribution] = Field(description="The named contributions, in order.")
    points: list[ExplainedPoint]
    day_mean: dict[str, float] = Field(
        description="Mean MW of each contribution (and of ``p50``) over the target day's points."
    )


class ExplanationWritten(BaseModel):
    created: bool = Field(description="False: the forecast already had one (left as it was).")
    explanation: ForecastExplanation


def _check(body: ExplanationIn, log_store: LogStore) -> None:
    """Refuse (422) what does not add up or is not the forecast served under the request id."""
    if body.available != bool(body.points):
        raise InvalidRequestError("an available explanation has points, an unavailable none")
    if not body.available and not body.reason:
        raise InvalidRequestError("an unavailable explanation says why (reason)")
    logged = {
        pd.Timestamp(r["target_time"]): r["p50"] for r in log_store.prediction_rows(body.request_id)
    }
    if body.points and not logged:
        raise InvalidRequestError(f"no forecast is logged under request id {body.request_id!r}")
    for p in body.points:
        unknown = unknown_names(list(p.contributions))
        if unknown:
            raise InvalidRequestError(
                f"unknown contributions {unknown}; known: {list(CONTRIBUTIONS)}"
            )
        if not all(math.isfinite(v) for v in p.contributions.values()):
            raise InvalidRequestError(f"{p.target_time.isoformat()}: a contribution is not finite")
        gap = sum(p.contributions.values()) - p.p50
        if abs(gap) > TOLERANCE_MW:
            raise InvalidRequestError(
                f"{p.target_time.isoformat()}: contributions add up to {gap:+.1f} MW from the P50"
            )
        served = logged.get(pd.Timestamp(p.target_time).tz_convert("UTC"))
        if served is None or abs(served - p.p50) > TOLERANCE_MW:
            raise InvalidRequestError(
                f"{p.target_time.isoformat()}: P50 {p.p50:.1f} MW is not the one served under "
                f"{body.request_id!r} ({'none' if served is None else f'{served:.1f} MW'})"
            )


def _out(record: ExplanationRecord) -> ForecastExplanation:
    points = []
    for p in record.points:
        t = pd.Timestamp(p["target_time"]).tz_convert("UTC")
        full = {c: float(p["contributions"].get(c, 0.0)) for c in CONTRIBUTIONS}
        points.append(
            ExplainedPoint(
                target_time=t.to_pydatetime(),
                target_time_paris=t.tz_convert(PARIS).to_pydatetime(),
                p50=float(p["p50"]),
                contributions=full,
            )
        )
    return ForecastExplanation(
        target_day=record.target_day,
        request_id=record.request_id,
        origin=record.origin,
        model_name=record.model_name,
        model_version=record.model_version,
        method=record.method,
        available=record.available,
        reason=record.reason,
        contributions=[Contribution(name=n, label=label) for n, label in CONTRIBUTIONS.items()],
        points=points,
        day_mean=_day_mean(record.target_day, points),
    )


def _day_mean(day: str, points: list[ExplainedPoint]) -> dict[str, float]:
    own = [p for p in points if p.target_time_paris.date().isoformat() == day]
    if not own:
        return {}
    means = {c: sum(p.contributions[c] for p in own) / len(own) for c in CONTRIBUTIONS}
    return {**means, "p50": sum(p.p50 for p in own) / len(own)}


def _unexplained(log_store: LogStore, day: str) -> ForecastExplanation:
    """What the day's issuance says when no decomposition was stored (404 without one)."""
    found = list_issuances(log_store, day, day, limit=1)
    if not found:
        raise ServiceError(f"no forecast was issued for {day}", status_code=404)
    issued = found[0]
    what = (
        f"{issued.model_name} v{issued.model_version}"
        if issued.model_version
        else issued.model_name
    )
    if issued.status == "missed":
        reason = f"no forecast was issued for {day} (missed): nothing to explain"
    elif issued.fallback:
        reason = (
            f"the fallback ({what}: the load of the same hour a week before) was issued for "
            f"{day}; it has no decomposition"
        )
    else:
        reason = f"no decomposition was recorded for the forecast of {day} ({what})"
    return ForecastExplanation(
        target_day=day,
        request_id=issued.request_id,
        origin=issued.origin,
        model_name=issued.model_name,
        model_version=issued.model_version,
        method=None,
        available=False,
        reason=reason,
        contributions=[Contribution(name=n, label=label) for n, label in CONTRIBUTIONS.items()],
        points=[],
        day_mean={},
    )


def _write(log_store: LogStore, body: ExplanationIn) -> tuple[ExplanationRecord, bool]:
    _check(body, log_store)
    points = [
        {"target_time": p.target_time.isoformat(), "p50": p.p50, "contributions": p.contributions}
        for p in body.points
    ]
    values = body.model_dump(exclude={"points"})
    return insert_explanation(log_store, ExplanationRecord(**values, points=points))


@router.post(
    "/forecast/explain",
    response_model=ExplanationWritten,
    dependencies=[ApiKey],
    summary="Store the decomposition of an issued forecast (once; a second write changes nothing)",
)
async def post_explanation(body: ExplanationIn, log_store: LogStoreDep) -> ExplanationWritten:
    record, created = await run_in_threadpool(_write, log_store, body)
    return ExplanationWritten(created=created, explanation=_out(record))


@router.get(
    "/forecast/explain",
    response_model=ForecastExplanation,
    summary="Why a forecast says what it says: its P50 split into named contributions",
    responses={404: {"description": "No forecast was issued for the day or request id."}},
)
def get_explanation(
    log_store: LogStoreDep,
    target_day: Annotated[
        Day | None,
        Query(pattern=DAY_PATTERN, description="Paris day: its latest issued forecast."),
    ] = None,
    request_id: Annotated[
        Text | None, Query(max_length=64, description="A forecast's request id instead.")
    ] = None,
) -> ForecastExplanation:
    if target_day is None and request_id is None:
        raise InvalidRequestError("give target_day or request_id")
    record = find_explanation(log_store, request_id=request_id, target_day=target_day)
    if record is not None:
        return _out(record)
    if target_day is None:
        raise ServiceError(f"no explanation is stored for request id {request_id!r}", 404)
    return _unexplained(log_store, target_day)
