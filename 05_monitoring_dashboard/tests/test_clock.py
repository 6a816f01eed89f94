"""The dashboard's now (wall clock, replayed or pinned, and read from the real API) and its Paris
helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from edip_dashboard.client import ApiClient
from edip_dashboard.clock import (
    effective_now,
    floor_hour,
    paris_day,
    paris_text,
    parse_time,
    resolve_now,
    to_paris,
)

from .platform import EXPECTED_NOW

WALL = datetime(2026, 5, 4, 10, 42, tzinfo=UTC)


def test_now_is_the_wall_clock_when_data_is_current() -> None:
    recent = WALL - timedelta(hours=3)
    assert resolve_now(WALL, recent, 48) == datetime(2026, 5, 4, 10, tzinfo=UTC)
    assert resolve_now(WALL, None, 48) == floor_hour(WALL)


def test_now_is_the_latest_data_in_a_replay() -> None:
    last = datetime(2020, 12, 24, 22, 30, tzinfo=UTC)
    assert resolve_now(WALL, last, 48) == datetime(2020, 12, 24, 23, tzinfo=UTC)


def test_pinned_now_wins() -> None:
    pinned = datetime(2020, 12, 10, 12, 15, tzinfo=UTC)
    assert resolve_now(WALL, WALL, 48, pinned) == datetime(2020, 12, 10, 12, tzinfo=UTC)


def test_parse_time() -> None:
    assert parse_time(None) is None
    assert parse_time("2020-12-20T12:00:00+01:00") == datetime(2020, 12, 20, 11, tzinfo=UTC)
    assert parse_time("2020-12-20T12:00:00") == datetime(2020, 12, 20, 12, tzinfo=UTC)


def test_paris_helpers_follow_the_local_calendar_and_dst() -> None:
    times = pd.Series(["2020-12-19T23:30:00Z", "2020-10-25T00:30:00Z", "2020-10-25T01:30:00Z"])
    assert list(to_paris(times).dt.hour) == [0, 2, 2]  # CEST then CET: 02:00 happens twice
    assert list(paris_day(times)) == [date(2020, 12, 20), date(2020, 10, 25), date(2020, 10, 25)]
    assert paris_text("2020-07-01T10:00:00Z") == "2020-07-01 12:00"
    assert paris_text(datetime(2020, 12, 1, 10, tzinfo=UTC), "%Hh") == "11h"
    assert paris_text("2020-12-01T10:00:00") == "2020-12-01 11:00"  # naive is UTC
    assert paris_text(None) == paris_text("") == "—"


def test_now_follows_the_replay(client: ApiClient) -> None:
    now = effective_now(client, replay_gap_h=48)
    assert now == parse_time(EXPECTED_NOW)
    pinned = datetime(2020, 12, 22, 7, 30, tzinfo=UTC)
    assert effective_now(client, 48, pinned=pinned) == datetime(2020, 12, 22, 7, tzinfo=UTC)
