"""Pure parts of the loop: the issuance plan (catch-up, late, missed) and the simulated schedule."""

from __future__ import annotations

import pandas as pd
import pytest

from edip_ml.live.config import LiveSettings
from edip_ml.live.issue import due_at, plan_issuances
from edip_ml.live.simulate import FutureDataError, check_no_future, day_runs, sim_jobs

S = LiveSettings()


def paris(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz="Europe/Paris").tz_convert("UTC")


def test_due_time_is_d_minus_1_at_the_issuance_hour_across_a_clock_change() -> None:
    assert due_at(pd.Timestamp("2020-10-26"), 12) == paris("2020-10-25 12:00")
    assert due_at(pd.Timestamp("2020-10-25"), 12) == pd.Timestamp("2020-10-24 10:00", tz="UTC")


def test_a_new_loop_plans_only_the_next_day_and_nothing_before_it_is_due() -> None:
    assert plan_issuances(paris("2020-11-02 11:00"), set(), S) == []
    (only,) = plan_issuances(paris("2020-11-02 12:00"), set(), S)
    assert (only.label, only.action, only.late) == ("2020-11-03", "issue", False)
    assert plan_issuances(paris("2020-11-02 12:00"), {"2020-11-03"}, S) == []


def test_catch_up_marks_started_days_missed_and_issues_tomorrow_late() -> None:
    plan = plan_issuances(paris("2020-11-05 14:00"), {"2020-11-02", "2020-11-03"}, S)
    assert [(p.label, p.action, p.late) for p in plan] == [
        ("2020-11-04", "missed", True),
        ("2020-11-05", "missed", True),
        ("2020-11-06", "issue", True),
    ]


def test_simulated_day_follows_the_cron_schedules_thinned_hourly() -> None:
    runs = day_runs(pd.Timestamp("2020-11-09"), sim_jobs(S), S)
    names = [(r.at.tz_convert("Europe/Paris").strftime("%H:%M"), r.job.name) for r in runs]
    assert names == [
        ("03:00", "retrain"),
        ("07:05", "ingest"),
        ("09:00", "issue-intraday"),
        ("11:05", "ingest"),
        ("11:10", "sync-actuals"),
        ("11:40", "update"),
        ("12:00", "issue-forecast"),
        ("13:15", "alerts"),
        ("17:05", "ingest"),
        ("18:00", "issue-intraday"),
    ]


@pytest.mark.parametrize(
    ("day", "hours"), [("2020-03-29", 23), ("2020-10-25", 24), ("2020-11-09", 24)]
)
def test_a_simulated_day_is_the_paris_day_on_clock_changes(day: str, hours: int) -> None:
    every_hour = LiveSettings(sim_hours={})
    ingests = [r for r in day_runs(pd.Timestamp(day), sim_jobs(every_hour), every_hour)
               if r.job.name == "ingest"]  # fmt: skip
    # hourly at :05 through the whole local day (23:05 included); like Prefect's real cron, the
    # repeated 02:00 hour of October fires once
    assert len(ingests) == hours
    local = {r.at.tz_convert("Europe/Paris").date().isoformat() for r in ingests}
    assert local == {day}


def test_the_future_data_check_can_fail(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from edip_testkit.live import cut_sample_store

    store = cut_sample_store(tmp_path, paris("2019-02-01 00:00"))
    check_no_future(store, paris("2019-02-01 00:00"))
    with pytest.raises(FutureDataError):
        check_no_future(store, paris("2019-01-31 23:00"))
