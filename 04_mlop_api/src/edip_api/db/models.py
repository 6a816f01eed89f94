"""ORM tables of the prediction log: one row per served point, one row per actual timestamp.

The Alembic migrations (``db/migrations/versions``) create exactly these tables; the ORM is the
single place queries take their column types from, including the UTC normalisation below.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that only accepts aware datetimes and always returns aware UTC.

    SQLite has no time zones: values are stored as naive UTC (so string order is time order) and
    read back as aware UTC. PostgreSQL stores ``timestamptz``; values come back converted to UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} given: timestamps must be tz-aware"
            )
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers always parse
            raise TypeError(f"unexpected stored timestamp {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: SQLite only autoincrements an ``INTEGER PRIMARY KEY``; PostgreSQL gets a 64-bit identity
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of the log store."""


class Prediction(Base):
    """One served point: idempotent on (request_id, target_time)."""

    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint("request_id", "target_time", name="uq_predictions_request_target"),
        # every query names a target-time range or a request id (migration 0007)
        Index("ix_predictions_target_time", "target_time"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(), nullable=False)
    endpoint: Mapped[str] = mapped_column(String(), nullable=False, default="forecast")
    model_name: Mapped[str] = mapped_column(String(), nullable=False)
    model_version: Mapped[str] = mapped_column(String(), nullable=False, default="")
    origin: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    target_time: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    horizon_h: Mapped[float] = mapped_column(Float(), nullable=False)
    p10: Mapped[float | None] = mapped_column(Float(), nullable=True)
    p50: Mapped[float] = mapped_column(Float(), nullable=False)
    p90: Mapped[float | None] = mapped_column(Float(), nullable=True)
    latency_ms: Mapped[float] = mapped_column(Float(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    #: with_rte / without_rte (migration 0004; NULL in rows logged before it)
    variant: Mapped[str | None] = mapped_column(String(), nullable=True)


class Actual(Base):
    """Observed load (and RTE's D-1 forecast) per timestamp; upserted, a null never overwrites."""

    __tablename__ = "actuals"

    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    consumption_mw: Mapped[float | None] = mapped_column(Float(), nullable=True)
    rte_forecast_d1_mw: Mapped[float | None] = mapped_column(Float(), nullable=True)
    source: Mapped[str] = mapped_column(String(), nullable=False, default="api")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


predictions_table = Prediction.__table__
actuals_table = Actual.__table__
