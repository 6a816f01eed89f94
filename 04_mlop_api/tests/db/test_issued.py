"""Issued forecasts as of an instant: day-ahead and intraday issues joined to their points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edip_api.db import LogStore
from edip_api.db.issuances import IssuanceRecord, insert_issuance
from edip_api.db.issued import issued_points, latest_per_target
from edip_api.db.records import ActualRecord

from .conftest import point

DAY = "2020-11-03"  # Paris: 2020-11-02T23:00Z .. 2020-11-03T23:00Z
D0 = datetime(2020, 11, 2, 23, tzinfo=UTC)
MODEL = ("lightgbm", "3")


def issue(store: LogStore, kind: str, origin: datetime, p50: float, rid: str) -> None:
    """An issue from ``origin`` covering the whole day, recorded at its origin."""
    hours = range(max(0, int((origin - D0).total_seconds() // 3600)), 24)
    store.write_predictions(
        [point(rid, MODEL, origin, D0 + timedelta(hours=h), p50) for h in hours]
    )
    insert_issuance(store, IssuanceRecord(
        target_day=DAY, status="on_time", due_at=origin, issued_at=origin, origin=origin,
        kind=kind, request_id=rid, lead_h=(D0 - origin).total_seconds() / 3600,
    ))  # fmt: skip


def test_as_of_shows_only_what_was_issued_by_then(store: LogStore) -> None:
    ahead = D0 - timedelta(hours=12)
    morning = D0 + timedelta(hours=9)
    issue(store, "day-ahead", ahead, 50_000.0, f"issue-{DAY}")
    issue(store, "intraday D 09:00", morning, 52_000.0, f"issue-{DAY}-intraday-D-0900")
    store.write_predictions([point("adhoc", MODEL, morning, D0 + timedelta(hours=12), 1.0)])
    end = D0 + timedelta(days=1)

    before = latest_per_target(issued_points(store, D0, end, morning - timedelta(minutes=1)))
    assert {p.p50 for p in before} == {50_000.0}
    assert len(before) == 24

    after = latest_per_target(issued_points(store, D0, end, morning))
    assert [p.p50 for p in after[:9]] == [50_000.0] * 9  # hours before 09:00: not re-issued
    assert {p.p50 for p in after[9:]} == {52_000.0}  # the ad-hoc request is never "issued"
    assert after[9].kind == "intraday D 09:00"
    assert after[9].lead_h == 0.0
    everything = issued_points(store, D0, end)
    assert len(everything) == 24 + 15


def test_intraday_issues_stay_out_of_the_day_ahead_score(store: LogStore) -> None:
    """The D-1 18:00 re-issue has leads ≥ 12 h too: the daily score still counts the D-1 12:00."""
    issue(store, "day-ahead", D0 - timedelta(hours=12), 50_000.0, f"issue-{DAY}")
    issue(store, "intraday D-1 18:00", D0 - timedelta(hours=6), 40_000.0, f"issue-{DAY}-i")
    store.upsert_actuals([ActualRecord(D0 + timedelta(hours=h), 50_000.0) for h in range(24)])
    summary = store.metrics_summary(D0, D0 + timedelta(days=1))
    [model] = summary.models
    assert model["n"] == 24
    assert model["mae"] == 0.0
