"""All routers of the API, joined."""

from __future__ import annotations

from fastapi import APIRouter

from edip_api.api.routes import (
    actuals,
    data,
    explain,
    fallback,
    forecast,
    forecast_intraday,
    health,
    issuances,
    issued,
    metrics,
    model,
    online_state,
    predict,
    predictions,
)

api_router = APIRouter()
for module in (
    health,
    forecast,
    forecast_intraday,
    explain,
    fallback,
    predict,
    actuals,
    predictions,
    metrics,
    model,
    online_state,
    data,
    issuances,
    issued,
):
    api_router.include_router(module.router)
