"""Data health: dataset freshness against the dashboard's now and the Paris-day coverage calendar."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from edip_dashboard.health import coverage_by_day, freshness


def test_freshness_against_the_dashboard_now() -> None:
    now = datetime(2020, 12, 25, tzinfo=UTC)
    table = freshness(
        [
            {"dataset": "load_national", "variable": "consumption_mw", "rows": 10,
             "last": "2020-12-24T23:00:00Z", "age_hours": -100.0},
            {"dataset": "weather", "variable": "t", "rows": 10, "last": "2020-12-20T00:00:00Z"},
            {"dataset": "empty", "variable": None, "rows": 0, "last": None},
        ],
        now,
        stale_hours=6,
    )  # fmt: skip
    assert list(table["status"]) == ["fresh", "stale", "no data"]
    assert list(table["age_h"][:2]) == [1.0, 120.0]


def test_coverage_counts_hours_and_shows_gaps_and_dst_days() -> None:
    idx = pd.date_range("2020-10-20", "2020-10-29T23:30", freq="30min", tz="UTC")
    values = pd.Series(1.0, index=idx)
    values[(idx >= "2020-10-22") & (idx < "2020-10-22T06:00")] = None  # 6 h gap
    cov = coverage_by_day(
        values, datetime(2020, 10, 19, tzinfo=UTC), datetime(2020, 10, 31, tzinfo=UTC)
    ).set_index("date")
    day = pd.Timestamp
    assert cov.loc[day("2020-10-19").date(), "share"] == 0.0  # nothing that day: visible gap
    assert cov.loc[day("2020-10-21").date(), "share"] == 1.0
    assert cov.loc[day("2020-10-22").date(), "hours"] == 18
    assert cov.loc[day("2020-10-25").date(), "hours_in_day"] == 25  # clocks go back
    assert cov.loc[day("2020-10-25").date(), "share"] == 1.0
