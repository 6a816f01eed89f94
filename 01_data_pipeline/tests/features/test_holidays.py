"""Public holidays, bridge days, school holidays per zone, Christmas and August breaks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.features import holidays as hol
from edip_pipeline.features.holidays import (
    HOLIDAY_FEATURES,
    OFFICIAL_SCHOOL_HOLIDAYS_2012_2017,
    holiday_features,
    holiday_table,
    school_holiday_calendar,
)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return holiday_table("2018-01-01", "2021-01-10")


def _row(table: pd.DataFrame, day: str) -> pd.Series:
    return table.loc[pd.Timestamp(day)]


@pytest.mark.parametrize(
    "day",
    ["2020-07-14", "2020-05-21", "2020-06-01", "2020-04-13", "2020-11-11", "2019-05-30"],
    ids=["14-juillet", "ascension", "whit-monday", "easter-monday", "armistice", "ascension-19"],
)
def test_public_holidays(table: pd.DataFrame, day: str) -> None:
    assert _row(table, day)["is_holiday"] == 1.0


@pytest.mark.parametrize("day", ["2020-07-13", "2020-05-22", "2020-12-26", "2020-04-10"])
def test_not_public_holidays(table: pd.DataFrame, day: str) -> None:
    # 26 December and Good Friday are holidays in Alsace-Moselle only
    assert _row(table, day)["is_holiday"] == 0.0


def test_bridge_days(table: pd.DataFrame) -> None:
    assert _row(table, "2020-05-22")["is_bridge_day"] == 1.0  # Friday after Ascension
    assert _row(table, "2019-05-31")["is_bridge_day"] == 1.0  # Friday after Ascension
    assert _row(table, "2018-04-30")["is_bridge_day"] == 1.0  # Monday before Tuesday 1 May
    assert _row(table, "2018-05-07")["is_bridge_day"] == 1.0  # Monday before Tuesday 8 May
    assert _row(table, "2020-07-13")["is_bridge_day"] == 1.0  # Monday before Tuesday 14 July
    assert _row(table, "2019-11-04")["is_bridge_day"] == 0.0  # 1 Nov 2019 is a Friday
    assert _row(table, "2020-05-20")["is_bridge_day"] == 0.0  # Wednesday before Ascension
    bridges = table.index[table["is_bridge_day"] == 1.0]
    assert not (table.loc[bridges, "is_holiday"] == 1.0).any()
    assert (bridges.day_of_week < 5).all()


def test_day_before_and_after(table: pd.DataFrame) -> None:
    assert _row(table, "2020-07-13")["is_day_before_holiday"] == 1.0
    assert _row(table, "2020-07-15")["is_day_after_holiday"] == 1.0
    assert _row(table, "2020-07-16")["is_day_after_holiday"] == 0.0


def test_school_holidays_differ_per_zone_in_february_2020(table: pd.DataFrame) -> None:
    # hiver 2020: C 8–23 Feb, B 15 Feb–1 Mar, A 22 Feb–8 Mar
    zones = ["school_holiday_a", "school_holiday_b", "school_holiday_c"]
    assert _row(table, "2020-02-05")[zones].tolist() == [0.0, 0.0, 0.0]
    assert _row(table, "2020-02-10")[zones].tolist() == [0.0, 0.0, 1.0]
    assert _row(table, "2020-02-18")[zones].tolist() == [0.0, 1.0, 1.0]
    assert _row(table, "2020-02-22")[zones].tolist() == [1.0, 1.0, 1.0]
    assert _row(table, "2020-02-26")[zones].tolist() == [1.0, 1.0, 0.0]
    assert _row(table, "2020-03-05")[zones].tolist() == [1.0, 0.0, 0.0]
    assert _row(table, "2020-03-10")[zones].tolist() == [0.0, 0.0, 0.0]
    counts = table.loc["2020-02-05":"2020-03-10", "school_holiday_zones"]
    assert counts.max() == 3.0
    assert counts.min() == 0.0
    np.testing.assert_array_equal(
        table["school_holiday_zones"], table[zones].sum(axis=1).to_numpy()
    )


def test_summer_and_christmas_school_holidays(table: pd.DataFrame) -> None:
    assert _row(table, "2019-08-10")["school_holiday_zones"] == 3.0
    assert _row(table, "2019-12-25")["school_holiday_zones"] == 3.0
    assert _row(table, "2019-10-01")["school_holiday_zones"] == 0.0


def test_christmas_and_august_breaks(table: pd.DataFrame) -> None:
    assert _row(table, "2019-12-23")["is_christmas_break"] == 0.0
    assert _row(table, "2019-12-24")["is_christmas_break"] == 1.0
    assert _row(table, "2019-12-31")["is_christmas_break"] == 1.0
    assert _row(table, "2020-01-01")["is_christmas_break"] == 1.0
    assert _row(table, "2020-01-02")["is_christmas_break"] == 0.0
    assert _row(table, "2020-07-31")["is_august_break"] == 0.0
    assert _row(table, "2020-08-01")["is_august_break"] == 1.0
    assert _row(table, "2020-08-31")["is_august_break"] == 1.0
    assert _row(table, "2020-09-01")["is_august_break"] == 0.0


def test_holiday_features_use_the_paris_date() -> None:
    targets = pd.DatetimeIndex(["2020-07-13 21:00", "2020-07-13 22:00"], tz="UTC")
    feats = holiday_features(targets)
    assert list(feats.columns) == HOLIDAY_FEATURES
    # 22:00 UTC on 13 July is 00:00 on 14 July in Paris
    assert feats["is_holiday"].tolist() == [0.0, 1.0]


def test_unknown_future_school_holidays_are_nan() -> None:
    t = holiday_table("2028-08-30", "2028-09-02")
    assert t.loc["2028-08-31", "school_holiday_a"] == 1.0
    assert np.isnan(t.loc["2028-09-01", "school_holiday_a"])
    assert np.isnan(t.loc["2028-09-01", "school_holiday_zones"])
    assert t.loc["2028-09-01", "is_holiday"] == 0.0


def test_fallback_table_matches_the_package() -> None:
    cal = school_holiday_calendar()
    fb = hol._intervals_to_frame(OFFICIAL_SCHOOL_HOLIDAYS_2012_2017, "2012-01-01", "2017-12-31")
    pd.testing.assert_frame_equal(cal.loc["2012":"2017"], fb, check_freq=False)


@pytest.fixture
def short_package(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A vacances-scolaires-france that only knows 2018 onward."""
    from vacances_scolaires_france import SchoolHolidayDates

    real_load = SchoolHolidayDates.load_data

    def load_data(self: SchoolHolidayDates) -> None:
        real_load(self)
        self.data = {k: v for k, v in self.data.items() if k.year >= 2018}

    monkeypatch.setattr(SchoolHolidayDates, "load_data", load_data)
    school_holiday_calendar.cache_clear()
    yield
    school_holiday_calendar.cache_clear()


@pytest.mark.usefixtures("short_package")
def test_fallback_is_used_where_the_package_falls_short() -> None:
    cal = school_holiday_calendar()
    assert cal.index.min() == pd.Timestamp("2012-01-01")
    # hiver 2013: B 16 Feb–3 Mar, A 23 Feb–10 Mar, C 2–17 Mar
    assert cal.loc["2013-02-20"].tolist() == [False, True, False]
    assert cal.loc["2013-03-05"].tolist() == [True, False, True]
    t = holiday_table("2014-03-10", "2014-03-10")
    assert t["school_holiday_a"].iloc[0] == 1.0
