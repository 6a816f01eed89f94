"""Why an issued forecast says what it says: its P50 split into named contributions, per point.

Why a table of its own: the decomposition is computed by the loop where the model library is
installed (the serving image has none) and posted once per issued forecast, after the forecast
was served and logged. One row per forecast (its request id), written once, never replaced; the
points (target time, P50, contributions in MW) are one JSON document, read whole. A forecast
without a decomposition (a network, a family without one) has a row saying why.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

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
class ExplanationRecord:
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

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["points"] = json.dumps(self.points)
        row["created_at"] = self.created_at or datetime.now(UTC)
        return row

    @classmethod
    def from_row(cls, row: Any) -> ExplanationRecord:
        values = dict(row)
        values["points"] = json.loads(values.get("points") or "[]")
        return cls(**values)


def insert_explanation(log_store: Any, record: ExplanationRecord) -> tuple[ExplanationRecord, bool]:
    """Insert unless the forecast already has one; returns (stored record, created)."""
    table = explanations_table
    stmt = (
        log_store._insert(table)
        .on_conflict_do_nothing(index_elements=["request_id"])
        .returning(table.c.request_id)
    )
    with log_store.engine.begin() as conn:
        created = len(conn.execute(stmt, [record.to_row()]).all()) == 1
        row = conn.execute(select(table).where(table.c.request_id == record.request_id))
        stored = ExplanationRecord.from_row(row.mappings().one())
    return stored, created


def find_explanation(
    log_store: Any, request_id: str | None = None, target_day: str | None = None
) -> ExplanationRecord | None:
    """The explanation of a forecast by its request id, else the latest one of a target day."""
    table = explanations_table
    query = select(table).order_by(table.c.origin.desc(), table.c.created_at.desc()).limit(1)
    if request_id is not None:
        query = query.where(table.c.request_id == request_id)
    if target_day is not None:
        query = query.where(table.c.target_day == target_day)
    with log_store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return ExplanationRecord.from_row(row) if row is not None else None
