"""``GET /v1/forecast``: the served model's forecast from an origin, every point logged."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query, Request, Response

from edip_api.api.deps import ForecastsDep, RequestIdsDep, WriterDep
from edip_api.db import PredictionRecord, PredictionWriter, WriterFullError
from edip_api.db.request_ids import RequestIdConflictError, RequestIdGuard
from edip_api.schemas import DataFreshness, Forecast, Instant
from edip_api.services.errors import NotReadyError, ServiceError
from edip_api.services.forecast import MAX_HORIZON_H

router = APIRouter(prefix="/v1", tags=["forecast"])
_HOUR = pd.Timedelta(hours=1)


def request_id(request: Request) -> str:
    """The id the middleware gave this request (also the X-Request-ID header)."""
    rid: str | None = getattr(request.state, "request_id", None)
    return rid or uuid.uuid4().hex


def log_served(
    request: Request,
    writer: PredictionWriter,
    guard: RequestIdGuard,
    records: list[PredictionRecord],
) -> None:
    """Queue the served points; 409 when a client's X-Request-ID names another forecast."""
    if getattr(request.state, "request_id_from_client", False):
        try:
            guard.claim(records)
        except RequestIdConflictError as exc:
            raise ServiceError(str(exc), 409) from exc
    try:
        writer.submit(records)
    except WriterFullError as exc:
        raise NotReadyError("prediction log is full: try again shortly") from exc


CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "X-Request-ID already names a different logged forecast"}
}


@router.get(
    "/forecast",
    response_model=Forecast,
    summary="P10/P50/P90 of the next hours from an origin",
    responses={422: {"description": "origin in the future or far outside the data"}, **CONFLICT},
)
def forecast(
    request: Request,
    forecasts: ForecastsDep,
    writer: WriterDep,
    guard: RequestIdsDep,
    origin: Annotated[
        Instant | None,
        Query(
            description="Issue time with offset (default now or EDIP_REPLAY_NOW), floored to the hour.",
            examples=["2020-12-19T12:00:00+01:00"],
        ),
    ] = None,
    horizon: Annotated[int, Query(ge=1, le=MAX_HORIZON_H, description="Hourly steps.")] = 24,
) -> Forecast:
    t0 = time.perf_counter()
    rid = request_id(request)
    result = forecasts.forecast(origin, horizon)
    info = result.model.info
    now = forecasts.now()
    snap = result.data
    age = (now - snap.last) / _HOUR if snap.last is not None else None
    latency_ms = (time.perf_counter() - t0) * 1000.0
    created = datetime.now(UTC)
    origin_dt = result.origin.to_pydatetime()
    records = [
        PredictionRecord(
            request_id=rid,
            model_name=info.name,
            model_version=info.version or "",
            origin=origin_dt,
            target_time=p.target_time,
            horizon_h=p.horizon_h,
            p10=p.p10,
            p50=p.p50,
            p90=p.p90,
            latency_ms=latency_ms,
            created_at=created,
            endpoint="forecast",
        )
        for p in result.points
    ]
    log_served(request, writer, guard, records)
    head = Forecast(
        request_id=rid,
        model=info,
        origin=origin_dt,
        horizon_h=horizon,
        weather_source=result.weather_source,
        weather_note=result.weather_note,
        data=DataFreshness(
            last_timestamp=snap.last.to_pydatetime() if snap.last is not None else None,
            age_hours=float(age) if age is not None else None,
            data_version=snap.data_version,
        ),
        points=[],
    ).model_dump_json()
    # the points (most of the body) are rendered once per cached forecast, by the same schema
    assert head.endswith('"points":[]}')
    body = head[: -len("[]}")].encode() + result.points_json + b"}"
    return Response(body, media_type="application/json")  # type: ignore[return-value]
