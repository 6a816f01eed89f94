"""Load features on a hand-made series whose value encodes its own timestamp.

Each half-hour ``u`` holds ``(u − T0) / 30min``, so a feature value tells exactly which interval
it was read from: on a 1-hour grid a bucket is the mean of two half-hours, ``index + 0.5``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.config import FeatureParams
from edip_pipeline.features import (
    build_feature_table,
    day_ahead_pairs,
    intraday_pairs,
    load_target,
)
from edip_pipeline.features.load import (
    ERROR_FEATURES,
    SHAPE_FEATURES,
    LeakageError,
    _gather,
    horizon_aware_multiple,
    load_feature_names,
    lookback,
    window_feature_names,
)
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store

T0 = pd.Timestamp("2020-01-01 00:00", tz="UTC")
HH = pd.Timedelta("30min")
PARAMS = FeatureParams(lag_days=[1, 2, 7, 14], rolling_windows_h=[24, 168])


#: the ramp starts at a plausible national load (the store flags values below 15 GW)
BASE = 50_000.0


def _idx(ts: pd.Timestamp) -> float:
    return BASE + float((ts - T0) / HH)


@pytest.fixture
def ramp_store(store: Store) -> Store:
    stamps = pd.date_range("2020-01-01", "2020-03-31 23:30", freq="30min", tz="UTC")
    values = BASE + np.arange(len(stamps), dtype=float)
    store.write(
        "load_national",
        canonical(stamps, values, variable="consumption_mw", area="FR", vintage=3, source="t"),
    )
    return store


def _build(store: Store, pairs: pd.DataFrame, step: str = "1h") -> pd.DataFrame:
    params = PARAMS.model_copy(update={"step": step})
    return build_feature_table(store, pairs, params, weather="none").frame


def test_feature_names() -> None:
    names = load_feature_names(PARAMS)
    assert names[:2] == ["load_last", "load_last_diff_1d"]
    assert "load_lag_14d" in names
    assert "load_same_hour_last_week" in names
    assert "load_roll_std_168h" in names
    assert len(names) == 2 + 4 + 1 + 8


def test_horizon_aware_multiple() -> None:
    h = pd.Timedelta(hours=1).value
    day = pd.Timedelta(days=1).value
    o = np.zeros(4, dtype=np.int64)
    t = np.array([0, 23 * h, 24 * h, 49 * h], dtype=np.int64)
    # known iff t - m*day + step <= o
    np.testing.assert_array_equal(horizon_aware_multiple(t, o, 1, day, h), [1, 1, 2, 3])
    np.testing.assert_array_equal(horizon_aware_multiple(t, o, 2, day, h), [2, 2, 2, 3])
    np.testing.assert_array_equal(horizon_aware_multiple(t, o, 7, day, h), [7, 7, 7, 7])


def test_day_ahead_lags_are_horizon_aware(ramp_store: Store) -> None:
    pairs = day_ahead_pairs("2020-02-11", "2020-02-11")
    origin = pd.Timestamp("2020-02-10 11:00", tz="UTC")  # 12:00 CET
    assert (pairs["origin"] == origin).all()
    f = _build(ramp_store, pairs).xs(origin, level="origin")
    hour = pd.Timedelta(hours=1)
    day = pd.Timedelta(days=1)
    for t, row in f.iterrows():
        t = pd.Timestamp(t)
        # 1-hour buckets: value = index of the first half-hour + 0.5
        m1 = 1 if t - day + hour <= origin else 2
        assert row["load_lag_1d"] == _idx(t - m1 * day) + 0.5, t
        assert row["load_lag_2d"] == _idx(t - 2 * day) + 0.5
        assert row["load_lag_7d"] == _idx(t - 7 * day) + 0.5
        assert row["load_lag_14d"] == _idx(t - 14 * day) + 0.5
        assert row["load_same_hour_last_week"] == row["load_lag_7d"]
        assert row["load_last"] == _idx(origin - hour) + 0.5
        assert row["load_last_diff_1d"] == 48.0
    morning = f.loc[pd.Timestamp("2020-02-11 10:00", tz="UTC")]  # 11:00 CET: D-1 11:00 known
    afternoon = f.loc[pd.Timestamp("2020-02-11 11:00", tz="UTC")]  # 12:00 CET: not yet
    assert morning["load_lag_1d"] == _idx(pd.Timestamp("2020-02-10 10:00", tz="UTC")) + 0.5
    assert afternoon["load_lag_1d"] == _idx(pd.Timestamp("2020-02-09 11:00", tz="UTC")) + 0.5


def test_rolling_windows_end_at_the_origin(ramp_store: Store) -> None:
    origin = pd.Timestamp("2020-02-10 11:00", tz="UTC")
    pairs = pd.DataFrame({"origin": [origin], "target_time": [origin + pd.Timedelta(hours=5)]})
    row = _build(ramp_store, pairs).iloc[0]
    first = _idx(origin - pd.Timedelta(hours=24))
    assert row["load_roll_mean_24h"] == pytest.approx(first + 23.5)
    assert row["load_roll_min_24h"] == first + 0.5
    assert row["load_roll_max_24h"] == _idx(origin - pd.Timedelta(hours=1)) + 0.5
    # 24 hourly buckets spaced by 2 half-hours
    assert row["load_roll_std_24h"] == pytest.approx(2 * np.sqrt((24**2 - 1) / 12))
    assert row["load_roll_max_168h"] == row["load_roll_max_24h"]
    assert row["load_roll_min_168h"] == _idx(origin - pd.Timedelta(hours=168)) + 0.5


def test_thirty_minute_boundaries(ramp_store: Store) -> None:
    origin = pd.Timestamp("2020-02-10 11:00", tz="UTC")
    offsets = [pd.Timedelta(0), pd.Timedelta("23h30min"), pd.Timedelta("24h")]
    pairs = pd.DataFrame({"origin": [origin] * 3, "target_time": [origin + d for d in offsets]})
    f = _build(ramp_store, pairs, step="30min")
    day = pd.Timedelta(days=1)
    targets = [origin + d for d in offsets]
    # t − 24h is known iff it ends by the origin: the +23h30 target still uses D-1
    expected = [_idx(targets[0] - day), _idx(targets[1] - day), _idx(targets[2] - 2 * day)]
    assert f["load_lag_1d"].tolist() == expected
    assert f["load_last"].tolist() == [_idx(origin - HH)] * 3
    assert f["horizon_h"].tolist() == [0.0, 23.5, 24.0]


def test_origin_off_grid_never_sees_an_interval_in_progress(ramp_store: Store) -> None:
    origin = pd.Timestamp("2020-02-10 11:20", tz="UTC")
    pairs = pd.DataFrame(
        {"origin": [origin], "target_time": [pd.Timestamp("2020-02-10 12:00", tz="UTC")]}
    )
    f = _build(ramp_store, pairs, step="30min")
    # the 11:00 half-hour ends at 11:30 > 11:20: the last known one is 10:30
    assert f["load_last"].iloc[0] == _idx(pd.Timestamp("2020-02-10 10:30", tz="UTC"))


def test_missing_history_gives_nan(store: Store) -> None:
    stamps = pd.date_range("2020-01-01", "2020-02-29 23:30", freq="30min", tz="UTC")
    values = np.full(len(stamps), 50_000.0)
    values[(stamps >= "2020-02-08") & (stamps < "2020-02-09")] = np.nan  # a day-long hole
    store.write(
        "load_national",
        canonical(stamps, values, variable="consumption_mw", area="FR", vintage=3, source="t"),
    )
    f = _build(store, day_ahead_pairs("2020-02-11", "2020-02-11"))
    assert f["load_lag_1d"].notna().all()  # D-1 / D-2 same hour
    assert f["load_lag_2d"].isna().any()  # falls in the hole
    assert f["load_roll_mean_24h"].notna().all()  # nan-aware window


def test_empty_store_gives_nan_load(store: Store) -> None:
    f = _build(store, day_ahead_pairs("2020-02-10", "2020-02-10"))
    assert f[load_feature_names(PARAMS)].isna().all().all()


def test_guard_refuses_unknown_buckets() -> None:
    values = np.arange(10, dtype=float)
    assert _gather(values, np.array([3, 4]), np.array([4, 4])).tolist() == [3.0, 4.0]
    with pytest.raises(LeakageError):
        _gather(values, np.array([5]), np.array([4]))


def test_load_target_is_the_bucket_mean(ramp_store: Store) -> None:
    targets = pd.DatetimeIndex(["2020-02-11 00:00", "2020-02-11 01:00"], tz="UTC")
    y = load_target(ramp_store, targets, "1h")
    assert y.tolist() == [_idx(targets[0]) + 0.5, _idx(targets[1]) + 0.5]
    y30 = load_target(ramp_store, targets, "30min")
    assert y30.tolist() == [_idx(targets[0]), _idx(targets[1])]


def test_window_columns_walk_back_from_the_last_known_bucket(ramp_store: Store) -> None:
    params = PARAMS.model_copy(update={"window_h": 6})
    assert window_feature_names(params) == [f"load_window_{k:03d}" for k in range(6)]
    assert load_feature_names(params)[-6:] == window_feature_names(params)
    assert window_feature_names(params.model_copy(update={"step": "30min"}))[-1] == (
        "load_window_011"
    )
    origin = pd.Timestamp("2020-02-10 11:00", tz="UTC")
    pairs = pd.DataFrame(
        {"origin": [origin] * 2, "target_time": [origin, origin + pd.Timedelta(hours=30)]}
    )
    f = build_feature_table(ramp_store, pairs, params, weather="none").frame
    for k in range(6):
        bucket = origin - pd.Timedelta(hours=k + 1)  # [o − (k+1)h, o − k h): known at o
        assert f[f"load_window_{k:03d}"].tolist() == [_idx(bucket) + 0.5] * 2
    assert (f["load_window_000"] == f["load_last"]).all()


def test_window_longer_than_the_history_is_nan_and_lookback_covers_it(
    ramp_store: Store,
) -> None:
    params = PARAMS.model_copy(update={"window_h": 24 * 60})
    assert lookback(params, pd.Timedelta("1h")) >= pd.Timedelta(hours=24 * 60)
    origin = pd.Timestamp("2020-02-10 11:00", tz="UTC")
    pairs = pd.DataFrame({"origin": [origin], "target_time": [origin + pd.Timedelta(hours=2)]})
    f = build_feature_table(ramp_store, pairs, params, weather="none").frame
    assert f["load_window_000"].notna().all()
    assert f[f"load_window_{24 * 60 - 1:03d}"].isna().all()  # before the store's first value
    with pytest.raises(ValueError, match="multiple of step"):
        window_feature_names(PARAMS.model_copy(update={"window_h": 1, "step": "2h"}))


def test_shape_columns_are_ratios_of_known_buckets(ramp_store: Store) -> None:
    """``shape_features``: the profile around the last known bucket, off unless asked for."""
    assert not set(SHAPE_FEATURES) & set(load_feature_names(PARAMS))
    params = PARAMS.model_copy(update={"shape_features": True})
    assert load_feature_names(params)[-len(SHAPE_FEATURES) :] == list(SHAPE_FEATURES)
    origin = pd.Timestamp("2020-02-10 17:00", tz="UTC")  # 18:00 CET: the D 18:00 re-issue
    pairs = intraday_pairs("2020-02-10", "2020-02-10", every_h=3)
    f = build_feature_table(ramp_store, pairs, params, weather="none").frame
    f = f.xs(origin, level="origin")
    hour, day, week = pd.Timedelta(hours=1), pd.Timedelta(days=1), pd.Timedelta(days=7)
    last = origin - hour  # the bucket [17:00, 18:00) UTC is the last one known at 18:00 UTC

    def at(ts: pd.Timestamp) -> float:
        return _idx(ts) + 0.5

    assert len(f) == 30  # to the end of the next day (D-1 18:00 → D)
    for t, row in f.iterrows():
        t = pd.Timestamp(t)
        m = 1 if t - day + hour <= origin else 2  # the horizon-aware lag of load_lag_1d
        assert row["load_shape_1d"] == pytest.approx(at(t - m * day) / at(last - m * day))
        assert row["load_shape_7d"] == pytest.approx(at(t - week) / at(last - week))
        assert row["load_profile_1d"] == pytest.approx(row["load_last"] * row["load_shape_1d"])
        assert row["load_level_1d"] == pytest.approx(at(last) / at(last - day))
        assert row["load_level_7d"] == pytest.approx(at(last) / at(last - week))
        assert row["load_slope_1h"] == pytest.approx(at(last) / at(last - hour))
        assert row["load_slope_3h"] == pytest.approx(at(last) / at(last - 3 * hour))


def test_error_columns_are_the_latest_known_error_of_the_profile(ramp_store: Store) -> None:
    """``recent_error_features``: today's 1 h / 3 h slope over the same slope a day or a week
    before — the error of the profile move on the last known hours; only with the shape columns."""
    assert not set(ERROR_FEATURES) & set(
        load_feature_names(PARAMS.model_copy(update={"recent_error_features": True}))
    )
    params = PARAMS.model_copy(update={"shape_features": True, "recent_error_features": True})
    assert load_feature_names(params)[-len(ERROR_FEATURES) :] == list(ERROR_FEATURES)
    origin = pd.Timestamp("2020-02-10 17:00", tz="UTC")
    pairs = intraday_pairs("2020-02-10", "2020-02-10", every_h=3)
    f = build_feature_table(ramp_store, pairs, params, weather="none").frame
    f = f.xs(origin, level="origin")
    hour, day, week = pd.Timedelta(hours=1), pd.Timedelta(days=1), pd.Timedelta(days=7)
    last = origin - hour

    def at(ts: pd.Timestamp) -> float:
        return _idx(ts) + 0.5

    def slope(end: pd.Timestamp, hours: int) -> float:
        return at(end) / at(end - hours * hour)

    for _, row in f.iterrows():
        for name, back in (("1d", day), ("7d", week)):
            for hours in (1, 3):
                expected = slope(last, hours) / slope(last - back, hours)
                # tight: on the ramp every error is within 1e-6 of 1 (a constant 1 must fail)
                assert expected != 1.0
                assert row[f"load_error_{name}_{hours}h"] == pytest.approx(expected, rel=1e-12)
