"""``GET /v1/fallback`` (key): the documented fallback forecast from an origin, logged.

Why a route: the loop issues the fallback ("same hour last week") when its data-quality gate
fails or the champion cannot forecast; it asks the API instead of rebuilding it, so the fallback
has one implementation (:mod:`edip_api.services.fallback`) and what the loop issued is what the
API logged, under the request id the loop chose (``issue-<day>-fallback``).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from edip_api.api.deps import ApiKey, ForecastsDep, RequestIdsDep, WriterDep
from edip_api.api.routes.common import CONFLICT, client_request_id, request_id
from edip_api.api.routes.forecast import HorizonQuery, forecast_response
from edip_api.schemas import Forecast, Instant
from edip_api.services.fallback_forecast import fallback_forecast
from edip_api.services.prediction_log import forecast_records, log_served

router = APIRouter(prefix="/v1", tags=["forecast"])


@router.get(
    "/fallback",
    response_model=Forecast,
    dependencies=[ApiKey],
    summary="The documented fallback (same hour last week) from an origin, logged (API key)",
    responses={
        401: {"description": "missing or invalid API key"},
        422: {"description": "origin in the future or far outside the data"},
        503: {"description": "no load a week before any target: no fallback"},
        **CONFLICT,
    },
)
def fallback(
    request: Request,
    forecasts: ForecastsDep,
    writer: WriterDep,
    guard: RequestIdsDep,
    origin: Annotated[
        Instant | None,
        Query(description="Issue time with offset (default now), floored to the hour."),
    ] = None,
    horizon: HorizonQuery = 24,
) -> Response:
    t0 = time.perf_counter()
    rid = request_id(request)
    result = fallback_forecast(forecasts, origin, horizon)
    records = forecast_records(rid, result, (time.perf_counter() - t0) * 1000.0)
    log_served(writer, guard, records, client_request_id=client_request_id(request))
    return forecast_response(rid, result, horizon, forecasts, logged=True)  # key holders only
