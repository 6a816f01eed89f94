"""Fixtures of the log store tests: each test runs on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edip_api.db import LogStore, PredictionRecord

from ..pg import pg_server, pg_url

__all__ = ["pg_server", "pg_url"]

ORIGIN = datetime(2020, 3, 1, 11, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log' / 'edip_log.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[LogStore]:
    """A migrated log store on ``db_url``."""
    log_store = LogStore(db_url)
    log_store.upgrade()
    yield log_store
    log_store.dispose()


def point(
    request_id: str,
    model: tuple[str, str],
    origin: datetime,
    target_time: datetime,
    p50: float,
    endpoint: str = "forecast",
) -> PredictionRecord:
    """One logged point, its quantiles 1000 MW either side of the P50."""
    return PredictionRecord(
        request_id=request_id,
        model_name=model[0],
        model_version=model[1],
        origin=origin,
        target_time=target_time,
        horizon_h=(target_time - origin).total_seconds() / 3600,
        p10=p50 - 1000,
        p50=p50,
        p90=p50 + 1000,
        latency_ms=12.5,
        created_at=origin + timedelta(seconds=1),
        endpoint=endpoint,
    )


def forecast_records(
    request_id: str,
    origin: datetime = ORIGIN,
    horizon: int = 24,
    model: tuple[str, str] = ("lightgbm", "3"),
    p50: float = 50_000.0,
    endpoint: str = "forecast",
) -> list[PredictionRecord]:
    """One /v1/forecast call's points: ``horizon`` hourly targets after ``origin``."""
    return [
        point(request_id, model, origin, origin + timedelta(hours=h), p50 + h, endpoint)
        for h in range(1, horizon + 1)
    ]
