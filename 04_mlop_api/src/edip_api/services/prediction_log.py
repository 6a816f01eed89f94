"""The prediction log's one entrance: every served point becomes a :class:`PredictionRecord` here.

Why one service: ``/v1/forecast``, ``/v1/predict`` and the loop's fallback issuances all log what
they served, with the same columns and the same rules (who is logged, request-id claims, a full
queue is a 503); the routes only say what they served.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from starlette.concurrency import run_in_threadpool

from edip_api.core.config import AnonymousLogging
from edip_api.db import LogStore, PredictionRecord, PredictionWriter, WriterFullError
from edip_api.db.request_ids import RequestIdConflictError, RequestIdGuard
from edip_api.schemas import ModelInfo, Quantiles
from edip_api.services.errors import NotReadyError, ServiceError
from edip_api.services.forecast_result import ForecastResult

#: predict rows have no target time: the row index, as seconds after the epoch, stands in for it
#: (keeps the log's (request_id, target_time) key unique and far from real target times)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def forecast_records(
    request_id: str, result: ForecastResult, latency_ms: float
) -> list[PredictionRecord]:
    """One record per point of a served ``/v1/forecast`` (copies of the result's validated
    points: see :meth:`PredictionRecord.copies`)."""
    return PredictionRecord.copies(result.point_records, request_id, latency_ms, datetime.now(UTC))


def predict_records(
    request_id: str,
    info: ModelInfo,
    predictions: Sequence[Quantiles],
    horizons: np.ndarray,
    latency_ms: float,
    variant: str = "without_rte",
) -> list[PredictionRecord]:
    """One record per answered ``/v1/predict`` row (rows without a P50 are not logged)."""
    created = datetime.now(UTC)
    return [
        PredictionRecord(
            request_id=request_id,
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
            variant=variant,
        )
        for i, p in enumerate(predictions)
        if p.p50 is not None
    ]


def fallback_records(
    request_id: str,
    model_name: str,
    model_version: str | None,
    origin: datetime,
    points: Iterable[tuple[datetime, float]],
) -> list[PredictionRecord]:
    """The flagged fallback points of an issuance, as predictions of the fallback model."""
    origin = origin.astimezone(UTC)
    created = datetime.now(UTC)
    return [
        PredictionRecord(
            request_id=request_id,
            model_name=model_name,
            model_version=model_version or "",
            origin=origin,
            target_time=target_time.astimezone(UTC),
            horizon_h=(target_time - origin).total_seconds() / 3600,
            p10=None,
            p50=p50,
            p90=None,
            latency_ms=0.0,
            created_at=created,
        )
        for target_time, p50 in points
    ]


def logs_answer(policy: AnonymousLogging, *, keyed: bool, endpoint: str) -> bool:
    """Whether an answer is written to the log: always for a key holder; for anyone else as
    ``EDIP_ANONYMOUS_LOGGING`` says (none by default: the log, the accuracy metrics and the
    loop's records are the key holders' alone)."""
    return keyed or policy == "all" or (policy == "forecast" and endpoint == "forecast")


def queue_served(
    writer: PredictionWriter,
    guard: RequestIdGuard,
    records: list[PredictionRecord],
    *,
    client_request_id: bool,
) -> int:
    """Queue the served points; 409 when a client's X-Request-ID names another forecast.
    Returns the sequence number whose durability the answer waits for."""
    if client_request_id:
        try:
            guard.claim(records)
        except RequestIdConflictError as exc:
            raise ServiceError(str(exc), 409) from exc
    try:
        return writer.submit(records)
    except WriterFullError as exc:
        raise NotReadyError("prediction log is full: try again shortly") from exc


def log_served(
    writer: PredictionWriter,
    guard: RequestIdGuard,
    records: list[PredictionRecord],
    *,
    client_request_id: bool,
) -> None:
    """Queue the served points and wait (this thread) until they are durably logged."""
    seq = queue_served(writer, guard, records, client_request_id=client_request_id)
    try:
        writer.wait_durable(seq)
    except WriterFullError as exc:
        raise NotReadyError(f"{exc}: try again shortly") from exc


async def log_served_async(
    writer: PredictionWriter,
    guard: RequestIdGuard,
    records: list[PredictionRecord],
    *,
    client_request_id: bool,
) -> None:
    """:func:`log_served` from the event loop: the wait for the batch's commit is a future, no
    thread; a claim that reads the database, or a submit that fsyncs (database down), runs in
    the threadpool."""
    if client_request_id or writer.degraded:
        queue = functools.partial(queue_served, client_request_id=client_request_id)
        seq = await run_in_threadpool(queue, writer, guard, records)
    else:
        seq = queue_served(writer, guard, records, client_request_id=False)
    try:
        await writer.until_durable(seq)
    except WriterFullError as exc:
        raise NotReadyError(f"{exc}: try again shortly") from exc


def log_issued(log_store: LogStore, records: list[PredictionRecord]) -> None:
    """Write an issuance's points at once (the loop waits for them: no queue)."""
    if records:
        log_store.write_predictions(records)
