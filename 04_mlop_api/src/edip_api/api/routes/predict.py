"""``POST /v1/predict``: the served model on caller-supplied feature rows (logged)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from edip_api.api.deps import ModelsDep, RequestIdsDep, SettingsDep, WriterDep
from edip_api.api.routes.common import CONFLICT, client_request_id, holds_key, request_id
from edip_api.schemas import PredictRequest, PredictResponse, Quantiles
from edip_api.services.errors import InvalidRequestError
from edip_api.services.prediction_log import log_served_async, logs_answer, predict_records

#: the model runs in float32: a value finite in float64 but past this is infinite there
FLOAT32_MAX = float(np.finfo(np.float32).max)

router = APIRouter(prefix="/v1", tags=["forecast"])


@router.post(
    "/predict",
    response_model=PredictResponse,
    summary="Quantiles for raw feature rows (exactly the model's feature names)",
    responses=CONFLICT,
)
async def predict(
    request: Request,
    body: PredictRequest,
    models: ModelsDep,
    writer: WriterDep,
    guard: RequestIdsDep,
    settings: SettingsDep,
) -> PredictResponse:
    t0 = time.perf_counter()
    rid = request_id(request)
    model = models.current
    names = model.feature_names
    expected = set(names)
    for i, row in enumerate(body.rows):
        if set(row) != expected:
            missing = sorted(expected - set(row))[:10]
            extra = sorted(set(row) - expected)[:10]
            raise InvalidRequestError(
                f"row {i}: keys must be exactly the model's feature names "
                f"(missing {missing}, unexpected {extra}); see GET /v1/model"
            )
    frame = pd.DataFrame.from_records(body.rows, columns=names).astype(float)
    given = frame.to_numpy()
    given = given[~np.isnan(given)]
    if not (np.isfinite(given) & (np.abs(given) <= FLOAT32_MAX)).all():
        raise InvalidRequestError(
            f"feature values must be finite numbers within ±{FLOAT32_MAX:.4g} (the model runs "
            "in float32) or null"
        )
    q = await run_in_threadpool(model.predict, frame)
    info, variant = model.info, model.variant(frame)
    preds = [Quantiles(p10=_num(a), p50=_num(b), p90=_num(c)) for a, b, c in q.tolist()]
    logged = logs_answer(settings.anonymous_logging, keyed=holds_key(request), endpoint="predict")
    if logged:
        horizons = frame["horizon_h"].to_numpy() if "horizon_h" in frame else np.zeros(len(frame))
        latency = (time.perf_counter() - t0) * 1000.0
        records = predict_records(rid, info, preds, horizons, latency, variant)
        from_client = client_request_id(request)
        await log_served_async(writer, guard, records, client_request_id=from_client)
    return PredictResponse(
        request_id=rid, model=info, variant=variant, logged=logged, feature_names=names,
        predictions=preds,
    )  # fmt: skip


def _num(value: float) -> float | None:
    """A model output as JSON can carry it: NaN or ±inf (inputs far outside the training
    range) is no forecast, null."""
    return float(value) if np.isfinite(value) else None
