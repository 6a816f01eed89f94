"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from edip_api.api.deps import Context
from edip_api.schemas import Health, LogStoreState, Ready, StoreState
from edip_api.services.store_view import LOAD_DATASET
from edip_pipeline.integrity import check, damage_reports, describe
from edip_pipeline.store import Store

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness (touches no dependency)")
def health() -> Health:
    return Health()


@router.get(
    "/ready",
    response_model=Ready,
    summary="Readiness: store readable and intact, log store reachable",
    responses={503: {"model": Ready, "description": "not ready (see which part)"}},
)
def ready(ctx: Context) -> JSONResponse:
    """Ready when the store is readable, its load files verify, the log store answers and the
    start-up forecasts of the next issuance are built (a restarted replica takes no traffic
    while cold).

    Serving the fallback is a documented degraded mode, not unreadiness: ``model.source`` and
    ``model.reason`` say it (and ``edip_fallback_in_use`` in ``/metrics``). So is a store
    recovered from damage (older copies of the damaged files): ``store.damage`` lists the open
    reports. A damaged load version that cannot be recovered makes the API not ready.
    """
    intact, damage = store_integrity(ctx.store)
    snap = ctx.forecasts.view.snapshot(fresh=True)  # a recovery may have just moved a link
    ok = ctx.log_store.ping()
    if ok and not ctx.log_store_upgraded:
        try:  # the database was down at start-up: create the tables now
            ctx.log_store.upgrade()
            ctx.log_store_upgraded = True
        except Exception:
            ok = False
    warm = ctx.forecasts.warm.is_set()
    body = Ready(
        ready=bool(snap.readable and intact and snap.last is not None and ok and warm),
        warm=warm,
        model=ctx.models.current.info,
        store=StoreState(
            readable=snap.readable and intact,
            last_timestamp=snap.last.to_pydatetime() if snap.last is not None else None,
            data_version=snap.data_version,
            damage=damage,
        ),
        log_store=LogStoreState(ok=ok, queue_depth=ctx.writer.queue_depth),
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if body.ready else 503)


#: longest a /ready waits for the store's write lock to recover damage (a writer recovers it first)
READY_LOCK_S = 1.0


def store_integrity(store: Store) -> tuple[bool, list[str]]:
    """Whether the load's current version verifies (recovered first when damaged), and the open
    damage reports — read from the quarantine, never from the data they describe."""
    try:
        intact = not check(store, LOAD_DATASET, lock_timeout_s=READY_LOCK_S)
    except Exception as exc:  # unrecoverable (lock busy, read-only store): not ready, and why
        return False, [f"{LOAD_DATASET}: damaged and not recovered: {exc}"]
    return intact, [describe(r) for r in damage_reports(store.root)]
