"""``POST /v1/actuals`` (upsert, key required) and ``GET /v1/actuals`` (paged)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from edip_api.api.deps import ApiKey, ForecastsDep, LogStoreDep
from edip_api.api.routes.common import MAX_LIMIT, next_offset, time_range
from edip_api.db import ActualRecord
from edip_api.schemas import ActualItem, ActualsPage, ActualsRequest, Instant, Upserted
from edip_api.services.forecast import utc

router = APIRouter(prefix="/v1", tags=["actuals"])


@router.post(
    "/actuals",
    response_model=Upserted,
    dependencies=[ApiKey],
    summary="Upsert measured load (idempotent; a null never overwrites a value)",
)
async def post_actuals(body: ActualsRequest, log_store: LogStoreDep) -> Upserted:
    records = [
        ActualRecord(
            timestamp=utc(a.timestamp).to_pydatetime(),
            consumption_mw=a.consumption_mw,
            rte_forecast_d1_mw=a.rte_forecast_d1_mw,
        )
        for a in body.actuals
    ]
    n = await run_in_threadpool(log_store.upsert_actuals, records)
    return Upserted(upserted=n)


@router.get("/actuals", response_model=ActualsPage, summary="Stored actuals, paged")
def get_actuals(
    log_store: LogStoreDep,
    forecasts: ForecastsDep,
    start: Instant | None = None,
    end: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ActualsPage:
    t0, t1 = time_range(start, end, forecasts.now())
    items, total = log_store.list_actuals(t0, t1, limit=limit, offset=offset)
    return ActualsPage(
        items=[ActualItem.model_validate(a, from_attributes=True) for a in items],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=next_offset(offset, len(items), total),
    )
