"""``PUT``/``GET /v1/model/online-state``: the champion's online state, posted by the loop.

The daily ``update`` absorbs the load published since its last run into the champion's state
(Kalman θ/P, ML-Poly weights, conformal band) where the model library is installed, then ``PUT``s
it here (key). The API checks it against the model it serves (name and version, the state's kind, a
day after the served one: 409/422 with the reason otherwise, the served state untouched), keeps it
in the log store (``online_states``) and serves it at once; after a restart it serves the newest
kept state of its version. ``GET`` (key) returns the state kept for a day, or the newest: the loop
decomposes a forecast with the state it was served with."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from edip_api.api.deps import ApiKey, LogStoreDep, ModelsDep
from edip_api.db.online_states import OnlineStateRecord, find_online_state, insert_online_state
from edip_api.schemas import DAY_PATTERN, Day, Text
from edip_api.services.errors import ServiceError
from edip_api.services.model_manager import ModelManager

router = APIRouter(prefix="/v1/model", tags=["model"])


class OnlineStateBody(BaseModel):
    """One online state of a served version, once it absorbed (part of) Paris day ``day``."""

    model: Text = Field(max_length=200, description="Registered model name (the served one).")
    version: Text = Field(max_length=64, description="Registered version (the served one).")
    day: Day = Field(
        pattern=DAY_PATTERN,
        description="Paris day of the last hour absorbed, possibly partly (YYYY-MM-DD).",
    )
    state: dict[str, Any] = Field(
        description="The state (edip_pipeline.online ``to_dict`` with its ``conformal`` band)."
    )


def _put(models: ModelManager, log_store: Any, body: OnlineStateBody) -> OnlineStateBody:
    def keep(name: str, version: str, day: str, state: dict[str, Any]) -> None:
        insert_online_state(log_store, OnlineStateRecord(name, version, day, state))

    served = models.put_online_state(body.model, body.version, body.day, body.state, keep)
    state = served.forecaster.online_state if served.forecaster is not None else None
    return body.model_copy(update={"state": dict(state or {})})


@router.put(
    "/online-state",
    response_model=OnlineStateBody,
    dependencies=[ApiKey],
    summary="Serve a new online state of the champion now (kept durably)",
    responses={
        409: {"description": "Not the served version, no online state, or a day already served."},
        422: {"description": "A state of another kind, or one the model cannot run with."},
    },
)
async def put_online_state(
    body: OnlineStateBody, models: ModelsDep, log_store: LogStoreDep
) -> OnlineStateBody:
    return await run_in_threadpool(_put, models, log_store, body)


@router.get(
    "/online-state",
    response_model=OnlineStateBody,
    dependencies=[ApiKey],
    summary="The online state kept for a day (default: the newest) of a version",
    responses={404: {"description": "No state is kept for that version (and day)."}},
)
def get_online_state(
    models: ModelsDep,
    log_store: LogStoreDep,
    version: Annotated[
        Text | None, Query(max_length=64, description="Version (default: the served one).")
    ] = None,
    day: Annotated[
        Day | None, Query(pattern=DAY_PATTERN, description="Last day absorbed (default: newest).")
    ] = None,
    model: Annotated[
        Text | None, Query(max_length=200, description="Registered model (default: served).")
    ] = None,
) -> OnlineStateBody:
    current = models.current
    name = model or current.registered_model
    version = version or current.info.version
    if not version:
        raise ServiceError("the API serves its fallback: give a version", 404)
    found = find_online_state(log_store, name, version, day)
    if found is None:
        at = f" for {day}" if day else ""
        raise ServiceError(f"no online state of {name} v{version}{at} is kept", 404)
    return OnlineStateBody(model=name, version=version, day=found.day, state=found.state)
