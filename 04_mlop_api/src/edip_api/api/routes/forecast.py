"""``GET /v1/forecast``: the served model's forecast from an origin, every point logged."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from edip_api.api.deps import AppContext, Context
from edip_api.api.routes.common import CONFLICT, client_request_id, holds_key, request_id
from edip_api.schemas import DataFreshness, Forecast, Instant
from edip_api.services.forecast import MAX_HORIZON_H, ForecastResult, ForecastService
from edip_api.services.prediction_log import forecast_records, log_served_async, logs_answer

router = APIRouter(prefix="/v1", tags=["forecast"])


@router.get(
    "/forecast",
    response_model=Forecast,
    summary="P10/P50/P90 of the next hours from an origin",
    responses={422: {"description": "origin in the future or far outside the data"}, **CONFLICT},
)
async def forecast(
    request: Request,
    ctx: Context,  # one dependency, not four: each costs its resolution on every request
    origin: Annotated[
        Instant | None,
        Query(
            description="Issue time with offset (default now or EDIP_REPLAY_NOW), floored to the hour.",
            examples=["2020-12-19T12:00:00+01:00"],
        ),
    ] = None,
    horizon: Annotated[int, Query(ge=1, le=MAX_HORIZON_H, description="Hourly steps.")] = 24,
) -> Forecast:
    """On the event loop when the forecast is cached (the usual load: no threadpool hop); a
    build (features, model) runs in the threadpool. The answer waits for its log rows' commit."""
    return await serve_forecast(request, ctx, ctx.forecasts, origin, horizon)  # type: ignore[return-value]


async def serve_forecast(
    request: Request,
    ctx: AppContext,
    forecasts: ForecastService,
    origin: Instant | None,
    horizon: int,
) -> Response:
    """The answer of ``forecasts`` from ``origin`` (also ``/v1/forecast/intraday``'s), logged."""
    t0 = time.perf_counter()
    rid = request_id(request)
    writer = ctx.writer
    result = forecasts.cached(origin, horizon)
    if result is None:
        result = await run_in_threadpool(forecasts.forecast, origin, horizon)
    policy = ctx.settings.anonymous_logging
    logged = logs_answer(policy, keyed=holds_key(request), endpoint="forecast")
    if logged:
        records = forecast_records(rid, result, (time.perf_counter() - t0) * 1000.0)
        from_client = client_request_id(request)
        await log_served_async(writer, ctx.request_ids, records, client_request_id=from_client)
    return forecast_response(rid, result, horizon, forecasts, logged)


def forecast_response(
    rid: str, result: ForecastResult, horizon: int, forecasts: ForecastService, logged: bool
) -> Response:
    """The ``Forecast`` body of a served result (also ``/v1/fallback``'s)."""
    snap = result.data
    head = Forecast(
        request_id=rid,
        model=result.model.info,
        origin=result.origin_datetime,
        horizon_h=horizon,
        weather_source=result.weather_source,
        weather_note=result.weather_note,
        variant=result.variant,
        variant_note=result.variant_note,
        logged=logged,
        data=DataFreshness(
            last_timestamp=snap.last.to_pydatetime() if snap.last is not None else None,
            age_hours=forecasts.data_age_h(snap),
            data_version=snap.data_version,
        ),
        points=[],
    ).model_dump_json()
    # the points (most of the body) are rendered once per cached forecast, by the same schema
    assert head.endswith('"points":[]}')
    body = head[: -len("[]}")].encode() + result.points_json + b"}"
    return Response(body, media_type="application/json")
