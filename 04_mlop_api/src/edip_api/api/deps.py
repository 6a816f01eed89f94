"""Typed dependencies of the routes (``Annotated`` aliases, full-stack-fastapi-template style).

Everything lives on ``app.state.ctx`` (one :class:`AppContext` per app, built by the lifespan), so
several apps can live in one process (tests) without module globals. The dependencies are
``async``: FastAPI runs a plain ``def`` dependency in the threadpool, a hop per dependency per
request for an attribute read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from edip_api.core.config import Settings
from edip_api.core.security import key_matches
from edip_api.db import LogStore, PredictionWriter
from edip_api.db.request_ids import RequestIdGuard
from edip_api.observability import Metrics
from edip_api.services.forecast import ForecastService
from edip_api.services.model_manager import ModelManager
from edip_pipeline.store import Store


@dataclass
class AppContext:
    """The live parts of one app instance."""

    settings: Settings
    metrics: Metrics
    store: Store
    models: ModelManager
    forecasts: ForecastService
    log_store: LogStore
    writer: PredictionWriter
    request_ids: RequestIdGuard
    log_store_upgraded: bool = False
    #: the intraday re-issues' model (``edip-load-fr-intraday@champion``) and its forecasts
    #: (``GET /v1/forecast/intraday``: the day-ahead champion when it has none)
    intraday_models: ModelManager | None = None
    intraday_forecasts: ForecastService | None = None


async def get_context(request: Request) -> AppContext:
    ctx: AppContext | None = getattr(request.app.state, "ctx", None)
    if ctx is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "service starting")
    return ctx


Context = Annotated[AppContext, Depends(get_context)]


async def get_settings(ctx: Context) -> Settings:
    return ctx.settings


async def get_models(ctx: Context) -> ModelManager:
    return ctx.models


async def get_forecasts(ctx: Context) -> ForecastService:
    return ctx.forecasts


async def get_store(ctx: Context) -> Store:
    return ctx.store


async def get_log_store(ctx: Context) -> LogStore:
    return ctx.log_store


async def get_writer(ctx: Context) -> PredictionWriter:
    return ctx.writer


async def get_request_ids(ctx: Context) -> RequestIdGuard:
    return ctx.request_ids


SettingsDep = Annotated[Settings, Depends(get_settings)]
ModelsDep = Annotated[ModelManager, Depends(get_models)]
ForecastsDep = Annotated[ForecastService, Depends(get_forecasts)]
StoreDep = Annotated[Store, Depends(get_store)]
LogStoreDep = Annotated[LogStore, Depends(get_log_store)]
WriterDep = Annotated[PredictionWriter, Depends(get_writer)]
RequestIdsDep = Annotated[RequestIdGuard, Depends(get_request_ids)]

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="Required on write endpoints."
)


async def require_api_key(
    settings: SettingsDep, key: Annotated[str | None, Security(api_key_header)]
) -> None:
    """401 unless X-API-Key matches (constant-time comparison)."""
    if not key_matches(key, settings.api_key):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or invalid API key (X-API-Key header)",
            headers={"WWW-Authenticate": "APIKey"},
        )


ApiKey = Depends(require_api_key)
