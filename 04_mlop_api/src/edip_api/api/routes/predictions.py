"""``GET /v1/predictions``: the prediction log, paged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from edip_api.api.deps import ForecastsDep, LogStoreDep
from edip_api.api.routes.common import MAX_LIMIT, next_offset, time_range
from edip_api.schemas import PredictionItem, PredictionsPage

router = APIRouter(prefix="/v1", tags=["predictions"])


@router.get(
    "/predictions",
    response_model=PredictionsPage,
    summary="Logged predictions by target time (range ≤ 92 days)",
)
def get_predictions(
    log_store: LogStoreDep,
    forecasts: ForecastsDep,
    start: datetime | None = None,
    end: datetime | None = None,
    model: Annotated[
        str | None,
        Query(max_length=200, description="name or name:version", examples=["lightgbm:3"]),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> PredictionsPage:
    t0, t1 = time_range(start, end, forecasts.now())
    items, total = log_store.list_predictions(t0, t1, model=model, limit=limit, offset=offset)
    return PredictionsPage(
        items=[
            PredictionItem(
                request_id=r.request_id,
                model_name=r.model_name,
                model_version=r.model_version,
                origin=r.origin,
                target_time=r.target_time,
                horizon_h=r.horizon_h,
                p10=r.p10,
                p50=r.p50,
                p90=r.p90,
                latency_ms=r.latency_ms,
                created_at=r.created_at,
            )
            for r in items
        ],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=next_offset(offset, len(items), total),
    )
