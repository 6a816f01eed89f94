"""``GET /v1/model``, ``GET /v1/model/versions``, ``POST /v1/model/reload``."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from edip_api.api.deps import ApiKey, ModelsDep
from edip_api.schemas import ModelDetail, ModelInfo, ModelVersionItem, ModelVersions, TrainedOn

router = APIRouter(prefix="/v1/model", tags=["model"])


@router.get("", response_model=ModelDetail, summary="The served model and its provenance")
def model_detail(models: ModelsDep) -> ModelDetail:
    m = models.current
    return ModelDetail(
        **m.info.model_dump(exclude={"registered_model"}),
        registered_model=m.registered_model,
        run_id=m.run_id,
        feature_names=m.feature_names,
        feature_params=m.feature_params_raw or m.feature_params.model_dump(mode="json"),
        backtest_metrics={k: v for k, v in m.backtest_metrics.items() if math.isfinite(v)},
        data_version=m.data_version,
        trained_on=TrainedOn(start=m.trained_on[0], end=m.trained_on[1]),
        tags=m.tags,
    )


@router.get(
    "/versions",
    response_model=ModelVersions,
    summary="Registered versions and their aliases (promotion history)",
    responses={503: {"description": "registry unreachable"}},
)
def model_versions(models: ModelsDep) -> ModelVersions:
    out = []
    for mv, aliases in models.versions():
        tags = dict(mv.tags or {})
        mape = _float(tags.get("backtest_mape"))
        created = (
            datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC)
            if mv.creation_timestamp
            else None
        )
        out.append(
            ModelVersionItem(
                version=str(mv.version),
                aliases=aliases,
                created_at=created,
                family=tags.get("edip.family") or tags.get("edip.model") or None,
                backtest_mape=mape,
                data_version=tags.get("data_version") or None,
                run_id=mv.run_id,
            )
        )
    return ModelVersions(versions=out)


@router.post(
    "/reload",
    response_model=ModelInfo,
    dependencies=[ApiKey],
    summary="Reload the alias now (off the request path of other calls)",
)
async def reload_model(models: ModelsDep) -> ModelInfo:
    served = await run_in_threadpool(models.reload, force=True)
    return served.info


def _float(value: str | None) -> float | None:
    try:
        f = float(value) if value is not None else None
    except ValueError:
        return None
    return f if f is not None and math.isfinite(f) else None
