"""``POST /v1/predict``: the served model on caller-supplied feature rows (logged)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from edip_api.api.deps import ModelsDep, RequestIdsDep, WriterDep
from edip_api.api.routes.forecast import CONFLICT, log_served, request_id
from edip_api.db import PredictionRecord
from edip_api.schemas import PredictRequest, PredictResponse, Quantiles
from edip_api.services.errors import InvalidRequestError

router = APIRouter(prefix="/v1", tags=["forecast"])
#: predict rows have no target time: the row index, as seconds after the epoch, stands in for it
#: (keeps the log's (request_id, target_time) key unique and far from real target times)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    if not np.isfinite(frame.to_numpy()[~np.isnan(frame.to_numpy())]).all():
        raise InvalidRequestError("feature values must be finite numbers or null")
    q = await run_in_threadpool(model.predict, frame)
    info = model.info
    preds = [Quantiles(p10=_num(a), p50=_num(b), p90=_num(c)) for a, b, c in q.tolist()]
    latency_ms = (time.perf_counter() - t0) * 1000.0
    created = datetime.now(UTC)
    horizons = frame["horizon_h"].to_numpy() if "horizon_h" in frame else np.zeros(len(frame))
    records = [
        PredictionRecord(
            request_id=rid,
            model_name=info.name,
            model_version=info.version or "",
            origin=created,
            target_time=EPOCH + timedelta(seconds=i),
            horizon_h=float(horizons[i]) if horizons[i] == horizons[i] else 0.0,
            p10=p.p10,
            p50=p.p50,
            p90=p.p90,
            latency_ms=latency_ms,
            created_at=created,
            endpoint="predict",
        )
        for i, p in enumerate(preds)
        if p.p50 is not None
    ]
    await run_in_threadpool(log_served, request, writer, guard, records)  # fsync: off the loop
    return PredictResponse(request_id=rid, model=info, feature_names=names, predictions=preds)


def _num(value: float) -> float | None:
    return None if value != value else float(value)
