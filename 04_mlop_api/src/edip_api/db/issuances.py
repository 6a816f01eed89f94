"""Issuance records of the daily loop: one row per (target day, kind), written once, never re-dated.

Why a table of its own: a forecast being *served* (the ``predictions`` log) is not the same fact
as the day-ahead forecast of day D being *issued* at D-1 by the loop — with its origin, the model
version, the weather source, the data-quality gate's verdict and whether it was on time, late, a
flagged fallback or missed. The primary key is (target day, kind) — ``day-ahead`` (D-1 12:00) or
an intraday re-issue named after its slot (``intraday D-1 18:00``, ``intraday D 09:00`` …) — and a
write never replaces a row: re-running a slot (or a worker restarted after a crash) cannot
duplicate nor back-date an issuance. ``lead_h`` is the hours from the origin to the start of D
(negative for a re-issue made during D).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from sqlalchemy import Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .kept_rows import JsonListRecord, insert_and_read, read_rows
from .models import Base, UTCDateTime

IssuanceStatus = Literal["on_time", "late", "fallback", "missed"]
STATUSES: tuple[str, ...] = ("on_time", "late", "fallback", "missed")
DAY_AHEAD = "day-ahead"
#: ``day-ahead`` or ``intraday D-1 18:00`` / ``intraday D 06:00`` (the slot, Paris wall clock)
KIND_PATTERN = r"^(day-ahead|intraday D(-1)? [0-2][0-9]:[0-5][0-9])$"


class Issuance(Base):
    """One issuance (day-ahead or an intraday re-issue) of one Paris target day (``YYYY-MM-DD``)."""

    __tablename__ = "issuances"

    target_day: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True, server_default=DAY_AHEAD)
    lead_h: Mapped[float | None] = mapped_column(Float(), nullable=True)
    status: Mapped[str] = mapped_column(String(), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    origin: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    late: Mapped[bool] = mapped_column(Boolean(), nullable=False, default=False)
    fallback: Mapped[bool] = mapped_column(Boolean(), nullable=False, default=False)
    model_name: Mapped[str | None] = mapped_column(String(), nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(), nullable=True)
    weather_source: Mapped[str | None] = mapped_column(String(), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(), nullable=True)
    points: Mapped[int] = mapped_column(Integer(), nullable=False, default=0)
    gate_ok: Mapped[bool | None] = mapped_column(Boolean(), nullable=True)
    gate_checks: Mapped[str] = mapped_column(Text(), nullable=False, default="[]")
    detail: Mapped[str | None] = mapped_column(Text(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


issuances_table = Issuance.__table__


@dataclass
class IssuanceRecord(JsonListRecord):
    """One issuance as it crosses the log store boundary (``gate_checks`` JSON-able dicts)."""

    target_day: str
    status: str
    due_at: datetime
    issued_at: datetime | None = None
    origin: datetime | None = None
    late: bool = False
    fallback: bool = False
    model_name: str | None = None
    model_version: str | None = None
    weather_source: str | None = None
    request_id: str | None = None
    points: int = 0
    gate_ok: bool | None = None
    gate_checks: list[dict[str, Any]] = field(default_factory=list)
    detail: str | None = None
    created_at: datetime | None = None
    kind: str = DAY_AHEAD
    lead_h: float | None = None

    JSON_FIELD: ClassVar[str] = "gate_checks"
    JSON_DEFAULT: ClassVar[Any] = str  # a gate detail that JSON cannot encode is kept as text

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if not re.match(KIND_PATTERN, self.kind):
            raise ValueError(f"kind must match {KIND_PATTERN}, got {self.kind!r}")
        datetime.strptime(self.target_day, "%Y-%m-%d")  # ValueError on a bad day
        for name in ("due_at", "issued_at", "origin", "created_at"):
            value = getattr(self, name)
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                raise ValueError(f"{name} must be tz-aware, got {value!r}")


def insert_issuance(log_store: Any, record: IssuanceRecord) -> tuple[IssuanceRecord, bool]:
    """Insert unless the (day, kind) already has an issuance; returns (stored record, created)."""
    key = ["target_day", "kind"]
    row, created = insert_and_read(log_store, issuances_table, record.to_row(), key)
    return IssuanceRecord.from_row(row), created


def list_issuances(
    log_store: Any,
    first_day: str | None = None,
    last_day: str | None = None,
    limit: int = 100,
    kind: str | None = DAY_AHEAD,
) -> list[IssuanceRecord]:
    """Issuances of ``kind`` (``None``: every kind) with first_day ≤ target_day ≤ last_day, the
    most recent target day first (within a day, the latest origin first)."""
    table = issuances_table
    order = (table.c.target_day.desc(), table.c.origin.desc().nulls_last(), table.c.kind)
    rows = read_rows(
        log_store, table, order, limit, first_day=first_day, last_day=last_day, kind=kind
    )
    return [IssuanceRecord.from_row(r) for r in rows]
