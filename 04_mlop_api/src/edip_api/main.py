"""The FastAPI app factory: ``uvicorn --factory edip_api.main:create_app``.

Lifespan (start-up, in order): settings check → log store upgrade (alembic, idempotent) →
prediction writer start → replay of records spilled by an earlier shutdown → model managers start
(champion or fallback; the intraday model: :mod:`.services.intraday`). Shutdown: model pollers
stop → ``writer.stop()`` (drains the queue; what the database refuses is spilled to JSONL and
replayed at the next start: no accepted forecast is lost).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from edip_api import __version__, access_log
from edip_api.api.deps import AppContext
from edip_api.api.main import routers
from edip_api.core.config import Settings
from edip_api.db import LogStore, PredictionWriter
from edip_api.db.online_states import find_online_state
from edip_api.db.request_ids import RequestIdGuard
from edip_api.db.wal import WriteAheadLog
from edip_api.middleware import RequestContextMiddleware
from edip_api.observability import Metrics
from edip_api.openapi_errors import document_errors
from edip_api.rate_limit import RateLimitMiddleware
from edip_api.services.errors import ServiceError
from edip_api.services.forecast import ForecastService
from edip_api.services.intraday import IntradayModels, intraday_manager
from edip_api.services.model_manager import ModelManager, ServedModel
from edip_api.services.store_view import StoreView
from edip_pipeline.config import Settings as PipelineSettings
from edip_pipeline.config import load_params
from edip_pipeline.redact import redact_url
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

_DEFAULT_GC_THRESHOLD = gc.get_threshold()
#: young-generation threshold while serving (CPython's default is 700 allocations)
GC_GEN0_THRESHOLD = 20_000

DESCRIPTION = (
    "Day-ahead French national load forecasts (P10/P50/P90, MW) from the MLflow champion, run by "
    "onnxruntime. Write endpoints need the X-API-Key header. With the key, every served forecast "
    "is logged under its request id (X-Request-ID, or a fresh one); without it, answers are "
    "rate-limited per client (429 with Retry-After), X-Request-ID is not used and nothing is "
    "written to the log by default (EDIP_ANONYMOUS_LOGGING). Timestamps are ISO 8601 with "
    "offset, UTC unless named *_paris."
)


def build_context(settings: Settings, metrics: Metrics) -> AppContext:
    """The live parts (not started yet)."""
    params = load_params(settings.params_file)
    store = Store(
        settings.data_dir,
        params,
        PipelineSettings(data_dir=settings.data_dir, params_file=settings.params_file),
        cache_reads=True,
    )

    def on_swap(model: ServedModel) -> None:
        metrics.set_model(model.info.name, model.info.version, model.info.source)

    log_store = LogStore(settings.log_database_url)

    def states(name: str, version: str) -> dict[str, Any] | None:
        found = find_online_state(log_store, name, version)
        return found.state if found is not None else None

    models = ModelManager(settings, params.features, on_swap=on_swap, states=states)
    view = StoreView(store, settings.store_check_s)
    forecasts = ForecastService(settings, view, models)
    intraday = intraday_manager(settings, params.features)
    intraday_forecasts = ForecastService(settings, view, IntradayModels(intraday, models))
    writer = PredictionWriter(
        log_store,
        batch_size=settings.log_batch_size,
        flush_interval_s=settings.log_flush_interval_s,
        max_queue=settings.log_max_queue,
        spill_dir=settings.spill_dir,
        wal=WriteAheadLog(settings.wal_dir) if settings.log_wal else None,
    )
    metrics.watch_writer(lambda: writer.queue_depth, lambda: writer.written_total)
    metrics.watch_builds(lambda: forecasts.builds)
    guard = RequestIdGuard(log_store)
    ctx = AppContext(settings, metrics, store, models, forecasts, log_store, writer, guard)
    ctx.intraday_models, ctx.intraday_forecasts = intraday, intraday_forecasts
    return ctx


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app (settings from the environment unless given)."""
    settings = settings or Settings()
    settings.check()
    access_log.install()
    metrics = Metrics()
    app = FastAPI(
        title="EDIP forecast API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan(settings, metrics),
    )
    app.state.metrics = metrics
    _add_error_handlers(app)
    _add_middleware(app, settings, metrics)
    for router in routers:  # one level of nesting: see edip_api.api.main
        app.include_router(router)
    document_errors(app, rate_limited=settings.rate_limit_enabled)
    return app


def _lifespan(
    settings: Settings, metrics: Metrics
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start-up and shutdown in the order of the module docstring."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = build_context(settings, metrics)
        _start(ctx, settings)
        app.state.ctx = ctx
        log.info("EDIP API ready (%s, model %s)", settings.environment, ctx.models.current.info)
        try:
            yield
        finally:
            _stop(ctx, settings)

    return lifespan


def _start(ctx: AppContext, settings: Settings) -> None:
    """Log store upgrade, writer start, replays, model manager and warm-up (none may abort)."""
    try:
        ctx.log_store.upgrade()
        ctx.log_store_upgraded = True
    except Exception:
        log.exception("log store %s unavailable at start-up", redact_url(settings.log_database_url))
    ctx.writer.start()
    _replay_leftovers(ctx)
    ctx.models.start()
    if ctx.intraday_models is not None:
        ctx.intraday_models.start()
    _freeze_heap()
    ctx.forecasts.start_warm_up()  # /ready stays false until it is done


def _freeze_heap() -> None:
    """Move what start-up built (modules, the model, the store's caches) out of the garbage
    collector's reach, and collect the young generation less often. Why: a full collection
    walks every object of the process — the imports alone are hundreds of thousands — and
    stalls every request in flight for tens of milliseconds (the tail of the cached path);
    frozen, it walks only what came after. A young collection walks what is alive at that
    moment (the log records waiting for their commit): every 700 allocations, the default, they
    cost the cached path a few per cent; every 20 000 they are rare. What is frozen is never collected: only
    start-up's objects, which live as long as the app (:func:`_stop` undoes both)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *_DEFAULT_GC_THRESHOLD[1:])


def _replay_leftovers(ctx: AppContext) -> None:
    """Records an earlier process could not write: spilled at its stop, or left by a crash."""
    try:
        replayed = ctx.writer.replay_spill()
        if replayed:
            log.info("replayed %d spilled prediction records", replayed)
    except Exception:
        log.exception("spill replay failed; the spill file is kept for the next start")
    try:
        recovered = ctx.writer.replay_wal()
        if recovered:
            log.warning("recovered %d prediction records left by a crash", recovered)
    except Exception:
        log.exception("write-ahead replay failed; the segments are kept for the next start")


def _stop(ctx: AppContext, settings: Settings) -> None:
    ctx.models.stop()
    if ctx.intraday_models is not None:
        ctx.intraday_models.stop()
    ctx.writer.stop(timeout_s=settings.writer_drain_s)
    ctx.log_store.dispose()
    # several apps may live in one process (tests): collect this one's cycles as usual again
    gc.unfreeze()
    gc.set_threshold(*_DEFAULT_GC_THRESHOLD)
    log.info("EDIP API stopped; %d records written", ctx.writer.written_total)


def _add_error_handlers(app: FastAPI) -> None:
    """Service refusals as ``{"detail": …}``, validation issues trimmed (anything else is the
    500 of :class:`RequestContextMiddleware`, which keeps the connection open)."""

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in {"loc", "msg", "type"}} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)


def _add_middleware(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    """Outermost first: request context (caller, id, body limit, 500) → CORS → rate limits."""
    if settings.rate_limit_enabled:
        app.add_middleware(RateLimitMiddleware, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type", "X-Request-ID"],
        )
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        anonymous_max_body_bytes=settings.anonymous_max_body_bytes,
        metrics=metrics,
        api_key=settings.api_key,
    )
