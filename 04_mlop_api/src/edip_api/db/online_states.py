"""The online states the loop posts: one row per (registered model, version, day absorbed).

Why a table of its own: the daily ``update`` computes the champion's new online state (Kalman θ/P,
ML-Poly weights, conformal band) where the model library is installed and posts it to the API
(``PUT /v1/model/online-state``); the API keeps every day's state, so that it serves the newest
one of its version after a restart and the loop can decompose a forecast with the state it was
served with. A row is written once, never replaced (a day is absorbed once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .kept_rows import insert_once, read_rows
from .models import Base, UTCDateTime


class OnlineState(Base):
    """The state of ``model_name`` v``model_version`` once it had absorbed Paris day ``day``."""

    __tablename__ = "online_states"

    model_name: Mapped[str] = mapped_column(String(), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    state: Mapped[str] = mapped_column(Text(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


online_states_table = OnlineState.__table__


@dataclass
class OnlineStateRecord:
    """One persisted state (``state``: the JSON-able dict, ``last_day`` included)."""

    model_name: str
    model_version: str
    day: str
    state: dict[str, Any]
    created_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> OnlineStateRecord:
        return cls(row["model_name"], row["model_version"], row["day"],
                   json.loads(row["state"]), row["created_at"])  # fmt: skip


def insert_online_state(log_store: Any, record: OnlineStateRecord) -> bool:
    """Keep ``record`` unless its day is already stored; returns whether it was written."""
    table = online_states_table
    row = {
        "model_name": record.model_name,
        "model_version": record.model_version,
        "day": record.day,
        "kind": str(record.state.get("kind") or ""),
        "state": json.dumps(record.state),
        "created_at": record.created_at or datetime.now(UTC),
    }
    with log_store.engine.begin() as conn:
        return insert_once(conn, log_store, table, row, ["model_name", "model_version", "day"])


def find_online_state(
    log_store: Any, model_name: str, model_version: str, day: str | None = None
) -> OnlineStateRecord | None:
    """The state of ``day`` (exactly), else with ``day`` None the newest one of the version."""
    table = online_states_table
    key = {"model_name": model_name, "model_version": model_version, "day": day}
    rows = read_rows(log_store, table, [table.c.day.desc()], 1, **key)
    return OnlineStateRecord.from_row(rows[0]) if rows else None
