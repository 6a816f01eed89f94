"""Issuance records: one per target day, never rewritten, newest first."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from edip_api.db import LogStore
from edip_api.db.issuances import IssuanceRecord, insert_issuance, list_issuances

DUE = datetime(2020, 11, 2, 11, tzinfo=UTC)


def record(day: str = "2020-11-03", status: str = "on_time") -> IssuanceRecord:
    return IssuanceRecord(
        target_day=day, status=status, due_at=DUE, issued_at=DUE, origin=DUE,
        model_name="lightgbm", model_version="3", weather_source="none",
        request_id=f"issue-{day}", points=48, gate_ok=True,
        gate_checks=[{"name": "freshness", "ok": True, "detail": "1.0 h old"}],
    )  # fmt: skip


def test_a_day_is_written_once_and_never_replaced(store: LogStore) -> None:
    stored, created = insert_issuance(store, record())
    assert created
    assert stored.gate_checks == [{"name": "freshness", "ok": True, "detail": "1.0 h old"}]
    assert stored.issued_at == DUE
    again, created = insert_issuance(store, replace(record(), status="late", points=0))
    assert not created
    assert (again.status, again.points) == ("on_time", 48)


def test_listing_is_newest_first_and_bounded(store: LogStore) -> None:
    for day in ("2020-11-03", "2020-11-05", "2020-11-04"):
        insert_issuance(store, record(day))
    assert [r.target_day for r in list_issuances(store)] == [
        "2020-11-05",
        "2020-11-04",
        "2020-11-03",
    ]
    assert [r.target_day for r in list_issuances(store, "2020-11-04", "2020-11-04")] == [
        "2020-11-04"
    ]


def test_bad_records_are_refused() -> None:
    with pytest.raises(ValueError, match="status"):
        record(status="early")
    with pytest.raises(ValueError, match=r"does not match format"):
        record(day="2020-13-01")
    with pytest.raises(ValueError, match="tz-aware"):
        replace(record(), due_at=datetime(2020, 11, 2, 11))
