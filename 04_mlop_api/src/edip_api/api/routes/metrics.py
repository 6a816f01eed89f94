"""``GET /v1/metrics/summary`` (served-forecast accuracy) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import Response

from edip_api.api.deps import Context, ForecastsDep, LogStoreDep
from edip_api.api.routes.common import parse_window
from edip_api.schemas import Instant, MetricsSummaryOut
from edip_api.services.forecast import utc
from edip_api.services.issued import peaks
from edip_pipeline.calendar import PARIS

router = APIRouter(tags=["metrics"])


@router.get(
    "/v1/metrics/summary",
    response_model=MetricsSummaryOut,
    summary="MAPE/MAE/bias of the served day-ahead forecasts against actuals",
)
def metrics_summary(
    log_store: LogStoreDep,
    forecasts: ForecastsDep,
    window: Annotated[str, Query(max_length=8, examples=["7d", "24h", "28d"])] = "7d",
    end: Instant | None = None,
) -> MetricsSummaryOut:
    """Per model version, per day and for RTE's D-1 forecast; MAPE is a fraction. ``peaks``: each
    Paris day's day-ahead peak (MW, hour, P10–P90 at that hour), its MW error and hour hit."""
    span = parse_window(window)
    t1 = utc(end) if end is not None else forecasts.now()
    t0 = t1 - span
    summary = log_store.metrics_summary(t0.to_pydatetime(), t1.to_pydatetime())
    first, last = (str(t.tz_convert(PARIS).date()) for t in (t0, t1 - pd.Timedelta("1ns")))
    days = peaks(log_store, first, last, t1.to_pydatetime())
    return MetricsSummaryOut.model_validate({"window": window, **summary.as_dict(), "peaks": days})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def prometheus(ctx: Context) -> Response:
    return Response(ctx.metrics.render(), media_type=ctx.metrics.content_type)
