"""Why an issued forecast says what it says: its P50 split into named contributions, per point.

Why a table of its own: the decomposition is computed by the loop where the model library is
installed (the serving image has none) and posted once per issued forecast, after the forecast
was served and logged. One row per forecast (its request id), written once, never replaced; the
points (target time, P50, contributions in MW) are one JSON document, read whole. A forecast
without a decomposition (a network, a family without one) has a row saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .kept_rows import JsonListRecord, insert_and_read, read_rows
from .models import Base, UTCDateTime


class Explanation(Base):
    """The decomposition of one issued forecast (``request_id`` of its logged points)."""

    __tablename__ = "explanations"
    __table_args__ = (Index("ix_explanations_target_day", "target_day"),)

    request_id: Mapped[str] = mapped_column(String(), primary_key=True)
    target_day: Mapped[str] = mapped_column(String(10), nullable=False)
    origin: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    model_name: Mapped[str] = mapped_column(String(), nullable=False)
    model_version: Mapped[str] = mapped_column(String(), nullable=False, default="")
    method: Mapped[str | None] = mapped_column(String(), nullable=True)
    available: Mapped[bool] = mapped_column(Boolean(), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text(), nullable=True)
    points: Mapped[str] = mapped_column(Text(), nullable=False, default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


explanations_table = Explanation.__table__


@dataclass
class ExplanationRecord(JsonListRecord):
    """One explanation as it crosses the log store boundary (``points`` JSON-able dicts:
    ``target_time`` ISO text, ``p50`` and ``contributions`` {name: MW})."""

    request_id: str
    target_day: str
    origin: datetime
    model_name: str
    model_version: str = ""
    method: str | None = None
    available: bool = True
    reason: str | None = None
    points: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime | None = None

    JSON_FIELD: ClassVar[str] = "points"


def insert_explanation(log_store: Any, record: ExplanationRecord) -> tuple[ExplanationRecord, bool]:
    """Insert unless the forecast already has one; returns (stored record, created)."""
    row, created = insert_and_read(log_store, explanations_table, record.to_row(), ["request_id"])
    return ExplanationRecord.from_row(row), created


def find_explanation(
    log_store: Any, request_id: str | None = None, target_day: str | None = None
) -> ExplanationRecord | None:
    """The explanation of a forecast by its request id, else the latest one of a target day."""
    table = explanations_table
    order = (table.c.origin.desc(), table.c.created_at.desc())
    rows = read_rows(log_store, table, order, 1, request_id=request_id, target_day=target_day)
    return ExplanationRecord.from_row(rows[0]) if rows else None
