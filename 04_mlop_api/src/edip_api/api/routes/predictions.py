"""``GET /v1/predictions``: the prediction log, paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from edip_api.api.deps import ForecastsDep, LogStoreDep
from edip_api.api.routes.common import MAX_LIMIT, next_offset, time_range
from edip_api.db.log_store import parse_model_filter
from edip_api.schemas import Instant, PredictionItem, PredictionsPage, Text
from edip_api.services.errors import InvalidRequestError

router = APIRouter(prefix="/v1", tags=["predictions"])


@router.get(
    "/predictions",
    response_model=PredictionsPage,
    summary="Logged predictions by target time (range ≤ 92 days)",
)
def get_predictions(
    log_store: LogStoreDep,
    forecasts: ForecastsDep,
    start: Instant | None = None,
    end: Instant | None = None,
    model: Annotated[
        Text | None,
        Query(max_length=200, description="name or name:version", examples=["lightgbm:3"]),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> PredictionsPage:
    t0, t1 = time_range(start, end, forecasts.now())
    if model is not None:
        try:
            parse_model_filter(model)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from exc
    items, total = log_store.list_predictions(t0, t1, model=model, limit=limit, offset=offset)
    return PredictionsPage(
        items=[PredictionItem.model_validate(r, from_attributes=True) for r in items],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=next_offset(offset, len(items), total),
    )
