"""``GET /v1/forecast/intraday``: the intraday re-issue's forecast (:mod:`..services.intraday`)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from edip_api.api.deps import Context
from edip_api.api.routes.common import CONFLICT
from edip_api.api.routes.forecast import HorizonQuery, OriginQuery, serve_forecast
from edip_api.schemas import Forecast
from edip_api.services.errors import NotReadyError

router = APIRouter(prefix="/v1", tags=["forecast"])


@router.get(
    "/forecast/intraday",
    response_model=Forecast,
    summary="P10/P50/P90 from an intraday origin, by the intraday model (else the day-ahead one)",
    responses={422: {"description": "origin in the future or far outside the data"}, **CONFLICT},
)
async def forecast_intraday(
    request: Request,
    ctx: Context,
    origin: OriginQuery = None,
    horizon: HorizonQuery = 24,
) -> Forecast:
    """What the loop's ``issue-intraday`` asks: the model trained on the re-issue protocol
    (``edip train intraday``, ``edip-load-fr-intraday@champion``, its short-lead columns built
    from the load known at the origin), or — when none is registered or loadable — the
    day-ahead champion, with ``model.reason`` saying so. Logged like ``/v1/forecast``."""
    forecasts = ctx.intraday_forecasts
    if forecasts is None:
        raise NotReadyError("intraday forecasts are not set up in this app")
    return await serve_forecast(request, ctx, forecasts, origin, horizon)  # type: ignore[return-value]
