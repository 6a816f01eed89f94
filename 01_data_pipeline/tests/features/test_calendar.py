"""Calendar features and the protocol grids: Paris clock, clock changes, pair counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.calendar import local_day_bounds, step_timedelta
from edip_pipeline.features.calendar import calendar_features, day_ahead_pairs, rolling_pairs


@pytest.mark.parametrize(
    ("day", "hours"), [("2020-03-29", 23), ("2020-10-25", 25), ("2020-06-15", 24)]
)
def test_local_day_bounds_follow_clock_changes(day: str, hours: int) -> None:
    start, end = local_day_bounds(day)
    assert (end - start) == pd.Timedelta(hours=hours)
    assert start.tz_convert("Europe/Paris").hour == 0


@pytest.mark.parametrize(
    ("day", "step", "count"),
    [
        ("2020-03-29", "1h", 23),
        ("2020-10-25", "1h", 25),
        ("2020-06-15", "1h", 24),
        ("2020-03-29", "30min", 46),
        ("2020-10-25", "30min", 50),
        ("2020-06-15", "30min", 48),
    ],
)
def test_day_ahead_pair_counts(day: str, step: str, count: int) -> None:
    pairs = day_ahead_pairs(day, day, step=step)
    assert len(pairs) == count
    assert pairs["origin"].nunique() == 1
    local = pd.DatetimeIndex(pairs["target_time"]).tz_convert("Europe/Paris")
    assert (local.strftime("%Y-%m-%d") == day).all()
    assert local[0].hour == 0
    assert local[0].minute == 0


def test_day_ahead_origin_is_noon_paris_the_day_before() -> None:
    pairs = day_ahead_pairs("2020-01-01", "2020-12-31")
    origins = pd.DatetimeIndex(pairs["origin"].unique())
    assert len(origins) == 366
    local = origins.tz_convert("Europe/Paris")
    assert (local.hour == 12).all()
    assert (local.minute == 0).all()
    assert str(pairs["origin"].dtype) == "datetime64[ns, UTC]"
    assert str(pairs["target_time"].dtype) == "datetime64[ns, UTC]"
    # winter: 11:00 UTC, summer: 10:00 UTC
    assert origins[0] == pd.Timestamp("2019-12-31 11:00", tz="UTC")
    assert pd.Timestamp("2020-07-01 10:00", tz="UTC") in origins
    # 366 days: 8784 hours, one of them 23 h and one 25 h
    assert len(pairs) == 366 * 24
    # every target is after its origin, horizon between 12 h and 37 h
    horizon = (pairs["target_time"] - pairs["origin"]) / pd.Timedelta(hours=1)
    assert horizon.min() == 12
    assert horizon.max() <= 37


def test_day_ahead_other_origin_hour() -> None:
    pairs = day_ahead_pairs("2020-02-01", "2020-02-01", origin_hour_local=9)
    assert pairs["origin"].iloc[0] == pd.Timestamp("2020-01-31 08:00", tz="UTC")


def test_rolling_pairs_cover_the_next_hours() -> None:
    origins = pd.DatetimeIndex(["2020-01-01 11:00", "2020-01-02 11:20"], tz="UTC")
    pairs = rolling_pairs(origins, horizon_h=24, step="1h")
    assert len(pairs) == 48
    first = pairs[pairs["origin"] == origins[0]]["target_time"]
    assert first.iloc[0] == origins[0]
    assert first.iloc[-1] == origins[0] + pd.Timedelta(hours=23)
    # an origin off the grid starts at the next grid point: nothing already begun is a target
    second = pairs[pairs["origin"] == origins[1]]["target_time"]
    assert second.iloc[0] == pd.Timestamp("2020-01-02 12:00", tz="UTC")
    assert len(rolling_pairs(origins, horizon_h=6, step="30min")) == 24


def test_rolling_pairs_refuse_naive_origins() -> None:
    with pytest.raises(ValueError, match="time-zone aware"):
        rolling_pairs(pd.DatetimeIndex(["2020-01-01 11:00"]))


def test_calendar_features_in_paris_time() -> None:
    targets = pd.DatetimeIndex(
        [
            "2020-07-01 10:00",  # 12:00 CEST, Wednesday
            "2020-01-01 10:30",  # 11:30 CET
            "2020-01-04 23:00",  # Sunday 00:00 local, Saturday in UTC
            "2020-03-29 01:00",  # 03:00 CEST on the 23-hour day
            "2020-10-25 01:00",  # 02:00 CET (second pass) on the 25-hour day
        ],
        tz="UTC",
    )
    cal = calendar_features(targets)
    np.testing.assert_array_equal(cal["hour"], [12.0, 11.5, 0.0, 3.0, 2.0])
    np.testing.assert_array_equal(cal["dow"], [2, 2, 6, 6, 6])
    np.testing.assert_array_equal(cal["is_weekend"], [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(cal["is_clock_change_day"], [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(cal["month"], [7, 1, 1, 3, 10])
    np.testing.assert_allclose(cal["hour_sin"] ** 2 + cal["hour_cos"] ** 2, 1.0)
    np.testing.assert_allclose(cal["doy_sin"] ** 2 + cal["doy_cos"] ** 2, 1.0)
    assert all(dt == np.float64 for dt in cal.dtypes)


def test_clock_change_flag_covers_the_whole_local_day() -> None:
    pairs = day_ahead_pairs("2020-03-28", "2020-03-30")
    cal = calendar_features(pd.DatetimeIndex(pairs["target_time"]))
    day = pd.DatetimeIndex(pairs["target_time"]).tz_convert("Europe/Paris").strftime("%Y-%m-%d")
    flags = cal.groupby(np.asarray(day))["is_clock_change_day"].agg(["min", "max"])
    assert flags.loc["2020-03-29"].tolist() == [1.0, 1.0]
    assert flags.loc["2020-03-28"].tolist() == [0.0, 0.0]
    assert flags.loc["2020-03-30"].tolist() == [0.0, 0.0]


def test_doy_is_continuous_over_new_year() -> None:
    targets = pd.DatetimeIndex(["2019-12-31 22:00", "2019-12-31 23:00"], tz="UTC")
    cal = calendar_features(targets)
    assert abs(cal["doy_sin"].iloc[1] - cal["doy_sin"].iloc[0]) < 0.02


@pytest.mark.parametrize("bad", ["7min30s", "5h", "0min"])
def test_step_must_divide_a_day(bad: str) -> None:
    with pytest.raises(ValueError, match="divisor"):
        step_timedelta(bad)
