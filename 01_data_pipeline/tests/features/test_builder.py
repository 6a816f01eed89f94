"""The builder contract: columns, groups, weather labels, one code path, storage, speed."""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.config import FeatureParams
from edip_pipeline.features import (
    GROUPS,
    FeatureFrame,
    build_feature_table,
    build_features,
    day_ahead_pairs,
    feature_groups,
    feature_names,
    read_feature_table,
    rolling_pairs,
    write_feature_table,
)
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store

from ..conftest import sample_load_rows

PARAMS = FeatureParams()


def write_sample(store: Store) -> None:
    store.write("load_national", sample_load_rows())


def write_weather(
    store: Store,
    dataset: str,
    start: str = "2018-12-01",
    end: str = "2021-01-03",
    bias: float = 0.0,
) -> None:
    g = pd.date_range(start, end, freq="1h", tz="UTC", inclusive="left")
    doy = np.asarray(g.day_of_year, dtype=float)
    hour = np.asarray(g.hour, dtype=float)
    temp = 12 - 8 * np.cos(2 * np.pi * (doy - 20) / 365) + 3 * np.sin(2 * np.pi * (hour - 9) / 24)
    rows = [
        canonical(g, temp + bias, variable="temperature_2m_c", area="FR", vintage=2, source="t"),
        canonical(
            g,
            50 + 40 * np.sin(doy / 7),
            variable="cloud_cover_pct",
            area="FR",
            vintage=2,
            source="t",
        ),
        canonical(
            g,
            15 + 5 * np.cos(doy / 3),
            variable="wind_speed_10m_kmh",
            area="FR",
            vintage=2,
            source="t",
        ),
    ]
    store.write(dataset, pd.concat(rows, ignore_index=True))


@pytest.fixture
def sample_store(store: Store) -> Store:
    write_sample(store)
    return store


def test_groups_and_names_are_stable() -> None:
    groups = feature_groups(PARAMS)
    assert tuple(groups) == GROUPS
    names = feature_names(PARAMS)
    assert names == [c for g in GROUPS for c in groups[g]]
    assert len(names) == len(set(names))
    assert groups["calendar"][0] == "horizon_h"
    assert "school_holiday_zones" in groups["holidays"]
    assert "load_lag_14d" in groups["load"]
    assert "load_roll_max_168h" in groups["load"]
    assert "heating_degrees" in groups["temperature"]
    assert "cloud_cover_pct" in groups["weather"]


def test_table_without_weather(sample_store: Store) -> None:
    pairs = day_ahead_pairs("2019-03-01", "2019-03-31")
    ft = build_feature_table(sample_store, pairs, PARAMS)
    assert isinstance(ft, FeatureFrame)
    assert list(ft.frame.columns) == ft.feature_names == feature_names(PARAMS)
    assert ft.frame.index.names == ["origin", "target_time"]
    assert len(ft.frame) == len(pairs) == 31 * 24 - 1  # 31 March is a 23-hour day
    assert all(dt == np.float64 for dt in ft.frame.dtypes)
    assert ft.available_groups == ["calendar", "holidays", "load"]
    assert ft.weather_source == "none"
    assert ft.frame[ft.groups["temperature"]].isna().all().all()
    assert ft.frame[ft.groups["load"] + ft.groups["calendar"]].notna().all().all()
    assert ft.origin is None
    assert ft.data_version == sample_store.data_version()


@pytest.mark.parametrize(
    ("datasets", "mode", "source", "groups"),
    [
        (["weather_historical_forecast"], "auto", "forecast", {"temperature", "weather"}),
        (["weather_observed"], "auto", "observed-as-forecast", {"temperature", "weather"}),
        (
            ["weather_observed", "weather_historical_forecast"],
            "observed",
            "observed-as-forecast",
            {"temperature", "weather"},
        ),
        (["weather_observed"], "forecast", "none", set()),
        (["weather_historical_forecast"], "none", "none", set()),
    ],
)
def test_weather_source_is_labelled(
    sample_store: Store, datasets: list[str], mode: str, source: str, groups: set[str]
) -> None:
    for name in datasets:
        write_weather(sample_store, name, bias=1.0 if "forecast" in name else 0.0)
    pairs = day_ahead_pairs("2019-03-01", "2019-03-07")
    ft = build_feature_table(sample_store, pairs, PARAMS, weather=mode)  # type: ignore[arg-type]
    assert ft.weather_source == source
    assert {"temperature", "weather"} & set(ft.available_groups) == groups
    if groups:
        assert ft.frame["temperature_c"].notna().all()
        assert ft.frame["temperature_ewm_0p01"].notna().all()


def test_auto_prefers_forecast_and_falls_back(sample_store: Store) -> None:
    write_weather(sample_store, "weather_observed")
    # the forecast archive starts in 2020 only
    write_weather(sample_store, "weather_historical_forecast", start="2020-01-01", bias=2.0)
    early = build_feature_table(sample_store, day_ahead_pairs("2019-06-01", "2019-06-02"), PARAMS)
    late = build_feature_table(sample_store, day_ahead_pairs("2020-06-01", "2020-06-02"), PARAMS)
    assert early.weather_source == "observed-as-forecast"
    assert late.weather_source == "forecast"


def test_single_origin_is_the_batch(sample_store: Store) -> None:
    write_weather(sample_store, "weather_historical_forecast")
    pairs = day_ahead_pairs("2020-01-10", "2020-02-10")
    batch = build_feature_table(sample_store, pairs, PARAMS)
    origin = pairs["origin"].iloc[200]
    targets = pd.DatetimeIndex(pairs.loc[pairs["origin"] == origin, "target_time"])
    one = build_features(sample_store, origin, targets[::-1], PARAMS)
    assert one.origin == origin
    pd.testing.assert_frame_equal(one.frame, batch.frame.loc[[origin]])


def test_thirty_minute_grid(sample_store: Store) -> None:
    params = PARAMS.model_copy(update={"step": "30min"})
    pairs = day_ahead_pairs("2020-10-24", "2020-10-26", step="30min")
    ft = build_feature_table(sample_store, pairs, params)
    assert len(ft.frame) == 48 + 50 + 48
    assert ft.step == "30min"
    assert ft.frame["load_last"].notna().all()


def test_invalid_pairs(sample_store: Store) -> None:
    o = pd.Timestamp("2020-02-10 11:00", tz="UTC")
    with pytest.raises(ValueError, match="before its origin"):
        build_feature_table(
            sample_store,
            pd.DataFrame({"origin": [o], "target_time": [o - pd.Timedelta("1h")]}),
            PARAMS,
        )
    with pytest.raises(ValueError, match="horizon_h"):
        build_feature_table(
            sample_store, rolling_pairs(pd.DatetimeIndex([o]), horizon_h=72), PARAMS
        )
    with pytest.raises(ValueError, match="grid"):
        build_feature_table(
            sample_store,
            pd.DataFrame({"origin": [o], "target_time": [o + pd.Timedelta("90min")]}),
            PARAMS,
        )
    with pytest.raises(ValueError, match="time-zone aware"):
        build_feature_table(
            sample_store,
            pd.DataFrame({"origin": [o.tz_localize(None)], "target_time": [o.tz_localize(None)]}),
            PARAMS,
        )
    with pytest.raises(ValueError, match="lack columns"):
        build_feature_table(sample_store, pd.DataFrame({"origin": [o]}), PARAMS)


def test_write_and_read_back(sample_store: Store) -> None:
    write_weather(sample_store, "weather_observed")
    ft = build_feature_table(sample_store, day_ahead_pairs("2020-01-01", "2020-01-31"), PARAMS)
    path = write_feature_table(sample_store, ft, "features_test")
    assert path == sample_store.processed_dir / "features_test.parquet"
    meta = json.loads((sample_store.processed_dir / "features_test.json").read_text())
    assert meta["weather_source"] == "observed-as-forecast"
    assert meta["data_version"] == sample_store.data_version()
    assert meta["groups"]["load"] == ft.groups["load"]
    assert meta["rows"] == len(ft.frame)
    back = read_feature_table(sample_store, "features_test")
    pd.testing.assert_frame_equal(back.frame, ft.frame)
    assert back.feature_names == ft.feature_names
    assert back.available_groups == ft.available_groups
    assert not list(sample_store.processed_dir.glob(".tmp-*"))


def test_two_year_batch_is_fast(sample_store: Store, caplog: pytest.LogCaptureFixture) -> None:
    write_weather(sample_store, "weather_historical_forecast")
    pairs = day_ahead_pairs("2019-01-16", "2020-12-31")
    assert len(pairs) > 17_000
    t0 = time.perf_counter()
    with caplog.at_level(logging.INFO):
        ft = build_feature_table(sample_store, pairs, PARAMS)
    elapsed = time.perf_counter() - t0
    logging.getLogger(__name__).info("2-year day-ahead batch: %d rows in %.2fs", len(ft), elapsed)
    assert elapsed < 5.0
    assert ft.frame[ft.groups["load"]].notna().all().all()
    assert set(ft.available_groups) == set(GROUPS) - {"rte"}  # off by default
