"""``GET /v1/forecast``: the served model's forecast from an origin, every point logged."""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
import pandas as pd
from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from edip_api.api.deps import AppContext, get_context
from edip_api.api.routes.common import CONFLICT, client_request_id, holds_key, request_id
from edip_api.schemas import DataFreshness, Forecast, Instant
from edip_api.services.forecast import MAX_HORIZON_H, ForecastService
from edip_api.services.forecast_result import ForecastResult
from edip_api.services.prediction_log import forecast_records, log_served_async, logs_answer

router = APIRouter(prefix="/v1", tags=["forecast"])

#: the query parameters of the forecast routes (``/v1/forecast``, ``/v1/forecast/intraday``)
OriginQuery = Annotated[
    Instant | None,
    Query(
        description="Issue time with offset (default now or EDIP_REPLAY_NOW), floored to the hour.",
        examples=["2020-12-19T12:00:00+01:00"],
    ),
]
HorizonQuery = Annotated[int, Query(ge=1, le=MAX_HORIZON_H, description="Hourly steps.")]


@router.get(
    "/forecast",
    response_model=Forecast,
    summary="P10/P50/P90 of the next hours from an origin",
    responses={422: {"description": "origin in the future or far outside the data"}, **CONFLICT},
)
async def forecast(
    request: Request,
    origin: OriginQuery = None,
    horizon: HorizonQuery = 24,
) -> Forecast:
    """On the event loop when the forecast is cached (the usual load: no threadpool hop); a
    build (features, model) runs in the threadpool. The answer waits for its log rows' commit."""
    ctx = await get_context(request)  # not a dependency: each costs its resolution per request
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
    """The ``Forecast`` body of a served result (also ``/v1/fallback``'s). What does not change
    between the requests a cached result answers (model, origin, notes, points) is rendered by
    the schema once per result; the request id and the data's age per request."""
    snap = result.data
    data = _freshness(snap.last, forecasts.data_age_h(snap), snap.data_version)
    fixed = result.rendered.get((horizon, logged))
    if fixed is None:
        fixed = result.rendered[horizon, logged] = _fixed_part(result, horizon, logged)
    body = b"".join((b'{"request_id":', orjson.dumps(rid), fixed, data, b',"points":'))
    return Response(body + result.points_json + b"}", media_type="application/json")


#: the rendered ``data`` of the answers, per (last stamp and its zone, age, version): the age
#: is the same for every request while the clock stands still (``EDIP_REPLAY_NOW``); on the
#: moving clock each answer renders its own
_FRESHNESS: dict[tuple[Any, ...], bytes] = {}
_FRESHNESS_SIZE = 256


def _freshness(last: pd.Timestamp | None, age_h: float | None, version: str | None) -> bytes:
    """``DataFreshness`` as JSON, rendered by the schema once per distinct value (the pandas
    conversion and the model's validation cost the cached path more than the lookup)."""
    key = (last, None if last is None else last.tzinfo, age_h, version)
    out = _FRESHNESS.get(key)
    if out is None:
        if len(_FRESHNESS) >= _FRESHNESS_SIZE:
            _FRESHNESS.clear()
        out = _FRESHNESS[key] = (
            DataFreshness(
                last_timestamp=last.to_pydatetime() if last is not None else None,
                age_hours=age_h,
                data_version=version,
            )
            .model_dump_json()
            .encode()
        )
    return out


def _fixed_part(result: ForecastResult, horizon: int, logged: bool) -> bytes:
    """The body between the request id and the data's freshness, rendered by ``Forecast``."""
    no_data = DataFreshness(last_timestamp=None, age_hours=None, data_version=None)
    body = Forecast(
        request_id="",
        model=result.model.info,
        origin=result.origin_datetime,
        horizon_h=horizon,
        weather_source=result.weather_source,
        weather_note=result.weather_note,
        variant=result.variant,
        variant_note=result.variant_note,
        logged=logged,
        data=no_data,
        points=[],
    ).model_dump_json()
    head, tail = '{"request_id":""', f'"data":{no_data.model_dump_json()},"points":[]}}'
    if not (body.startswith(head) and body.endswith(tail)):  # the schema's field order changed
        raise RuntimeError(f"Forecast no longer renders as {head}…{tail}: {body}")
    return body[len(head) : -len(tail)].encode() + b'"data":'
