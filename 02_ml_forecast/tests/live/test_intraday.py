"""Intraday re-issues: which slot is issued when (the latest due, once, never back-dated)."""

from __future__ import annotations

import pandas as pd
import pytest

from edip_ml.live.config import LiveSettings
from edip_ml.live.intraday import plan_intraday, slot_due

S = LiveSettings()


def paris(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz="Europe/Paris").tz_convert("UTC")


def test_slots_are_paris_wall_clock_across_the_clock_change() -> None:
    day = pd.Timestamp("2020-10-25")  # 25-hour day
    assert slot_due(day, "D-1 18:00") == paris("2020-10-24 18:00")
    assert slot_due(day, "D 09:00") == pd.Timestamp("2020-10-25 08:00", tz="UTC")


def test_the_latest_due_slot_of_each_day_is_planned_once() -> None:
    now = paris("2020-11-02 18:00")
    plan = plan_intraday(now, set(), S)
    assert [(s.label, s.kind, s.due) for s in plan] == [
        ("2020-11-02", "intraday D 18:00", now),
        ("2020-11-03", "intraday D-1 18:00", now),
    ]
    assert plan[1].request_id == "issue-2020-11-03-intraday-D-1-1800"
    recorded = {(s.label, s.kind) for s in plan}
    assert plan_intraday(now + pd.Timedelta(minutes=30), recorded, S) == []


def test_a_slot_superseded_while_down_is_skipped_not_issued_late() -> None:
    """Down from 05:00 to 10:30: the 06:00 slot is never issued, the 09:00 one is (late)."""
    plan = plan_intraday(paris("2020-11-03 10:30"), set(), S)
    assert [(s.label, s.kind) for s in plan] == [("2020-11-03", "intraday D 09:00")]


def test_nothing_before_the_first_slot_and_nothing_for_a_day_that_ended() -> None:
    assert plan_intraday(paris("2020-11-02 17:59"), {("2020-11-02", "intraday D 15:00")}, S) == []
    none = LiveSettings(intraday_slots=[])
    assert plan_intraday(paris("2020-11-02 18:00"), set(), none) == []


@pytest.mark.parametrize("bad", ["D+1 06:00", "D 24:00", "D-1 6:00", "06:00"])
def test_malformed_slots_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="intraday slot"):
        LiveSettings(intraday_slots=[bad])
