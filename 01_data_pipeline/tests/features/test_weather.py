"""Temperature features: causal smoothing, degree days, daily fallback and source selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.config import FeatureParams
from edip_pipeline.features.builder import build_feature_table
from edip_pipeline.features.weather import (
    causal_exp_smooth,
    choose_weather,
    cooling_degrees,
    ewm_kernel_length,
    ewm_name,
    heating_degrees,
    row_sources,
    temperature_feature_names,
    weather_features,
)
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store

from ..conftest import sample_load_rows

PARAMS = FeatureParams(temperature_smoothing_alphas=[0.05, 0.01])


def test_names() -> None:
    assert ewm_name(0.05) == "temperature_ewm_0p05"
    assert temperature_feature_names(PARAMS) == [
        "temperature_c",
        "temperature_ewm_0p05",
        "temperature_ewm_0p01",
        "heating_degrees",
        "cooling_degrees",
    ]


def test_degree_days() -> None:
    t = np.array([10.0, 15.0, 20.0, 25.0, np.nan])
    np.testing.assert_array_equal(heating_degrees(t, 15.0), [5.0, 0.0, 0.0, 0.0, np.nan])
    np.testing.assert_array_equal(cooling_degrees(t, 20.0), [0.0, 0.0, 0.0, 5.0, np.nan])


def test_smoothing_of_a_step() -> None:
    alpha = 0.05
    n = ewm_kernel_length(alpha)
    x = np.r_[np.zeros(n + 10), np.ones(50)]
    s = causal_exp_smooth(x, alpha)
    j = np.arange(50)
    expected = (1 - (1 - alpha) ** (j + 1)) / (1 - (1 - alpha) ** n)
    np.testing.assert_allclose(s[n + 10 :], expected, rtol=1e-12)
    assert np.all(s[n : n + 10] == 0.0)
    # not enough history: NaN rather than a value biased by the start
    assert np.isnan(s[0])
    assert not np.isnan(s[n])


def test_smoothing_is_causal_and_matches_a_recursive_ewm() -> None:
    rng = np.random.default_rng(0)
    x = 10 + np.cumsum(rng.normal(0, 0.3, 3000))
    s = causal_exp_smooth(x, 0.01)
    y = x.copy()
    y[2000:] += 100.0  # change the future
    s2 = causal_exp_smooth(y, 0.01)
    np.testing.assert_array_equal(s[:2000], s2[:2000])
    assert s2[2000] != s[2000]
    ref = pd.Series(x).ewm(alpha=0.01, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(s[1500:], ref[1500:], atol=0.05)


def test_smoothing_skips_holes() -> None:
    x = np.full(400, 5.0)
    x[200:210] = np.nan
    s = causal_exp_smooth(x, 0.05)
    assert np.allclose(s[135:], 5.0)


def _hourly(
    store: Store,
    dataset: str,
    values: np.ndarray,
    variable: str = "temperature_2m_c",
    start: str = "2020-01-01",
) -> pd.DatetimeIndex:
    stamps = pd.date_range(start, periods=len(values), freq="1h", tz="UTC")
    store.write(
        dataset, canonical(stamps, values, variable=variable, area="FR", vintage=2, source="test")
    )
    return stamps


def test_choose_weather_modes(store: Store) -> None:
    n = 24 * 60
    _hourly(store, "weather_observed", np.full(n, 5.0))
    _hourly(store, "weather_observed", np.full(n, 50.0), variable="cloud_cover_pct")
    # the forecast archive only covers the first 40 days
    _hourly(store, "weather_historical_forecast", np.full(24 * 40, 7.0))
    early = pd.date_range("2020-01-20", periods=24, freq="1h", tz="UTC")
    late = pd.date_range("2020-02-20", periods=24, freq="1h", tz="UTC")
    assert choose_weather(store, early, PARAMS, "auto").source == "forecast"
    auto_late = choose_weather(store, late, PARAMS, "auto")
    assert auto_late.source == "observed-as-forecast"
    assert choose_weather(store, early, PARAMS, "observed").source == "observed-as-forecast"
    assert choose_weather(store, early, PARAMS, "none").source == "none"
    forced = choose_weather(store, late, PARAMS, "forecast")
    assert forced.source == "none"  # forecast archive does not reach February 20
    feats = weather_features(auto_late, late, PARAMS)
    assert (feats["temperature_c"] == 5.0).all()
    assert (feats["cloud_cover_pct"] == 50.0).all()
    assert feats["wind_speed_10m_kmh"].isna().all()
    assert feats["heating_degrees"].tolist() == [10.0] * 24
    assert feats["temperature_ewm_0p01"].tolist() == pytest.approx([5.0] * 24)
    with pytest.raises(ValueError, match="weather mode"):
        choose_weather(store, early, PARAMS, "psychic")  # type: ignore[arg-type]


def test_daily_fallback(store: Store) -> None:
    days = pd.date_range("2020-01-01", "2020-03-01", freq="D").tz_localize("Europe/Paris")
    store.write(
        "temperature_daily",
        canonical(
            days.tz_convert("UTC"),
            np.full(len(days), 8.0),
            variable="tmean_c",
            area="FR",
            vintage=2,
            source="test",
        ),
    )
    targets = pd.date_range("2020-02-10", periods=48, freq="30min", tz="UTC")
    choice = choose_weather(store, targets, PARAMS, "auto")
    assert choice.source == "observed-as-forecast"
    assert choice.description.startswith("daily")
    feats = weather_features(choice, targets, PARAMS)
    assert feats["temperature_c"].tolist() == pytest.approx([8.0] * 48)
    assert feats["cloud_cover_pct"].isna().all()


def test_interpolation_on_a_thirty_minute_grid(store: Store) -> None:
    values = np.arange(24 * 60, dtype=float) % 24  # 0..23 each day
    _hourly(store, "weather_historical_forecast", values)
    targets = pd.date_range("2020-02-10 10:00", periods=4, freq="30min", tz="UTC")
    choice = choose_weather(store, targets, PARAMS, "forecast")
    feats = weather_features(choice, targets, PARAMS)
    assert feats["temperature_c"].tolist() == [10.0, 10.5, 11.0, 11.5]
    # smoothed values only use hours at or before the target
    ewm = feats["temperature_ewm_0p05"].to_numpy()
    assert ewm[0] == ewm[1]
    assert ewm[2] == ewm[3]
    assert ewm[2] != ewm[0]


def test_auto_stitches_sources_hour_by_hour_and_labels_each_row(store: Store) -> None:
    # observed hourly 2020-01-01 .. 2020-03-01, the forecast archive from 2020-02-01 only
    _hourly(store, "weather_observed", np.full(24 * 60, 5.0))
    _hourly(store, "weather_historical_forecast", np.full(24 * 29, 7.0), start="2020-02-01")
    targets = pd.date_range("2020-01-31T12:00Z", periods=24, freq="1h")
    choice = choose_weather(store, targets, PARAMS, "auto")
    assert choice.source == "observed-as-forecast"  # one observed hour makes it an oracle
    assert choice.description.startswith("stitched: forecast")
    assert choice.coverage == 1.0
    feats = weather_features(choice, targets, PARAMS)
    assert feats["temperature_c"].tolist() == [5.0] * 12 + [7.0] * 12  # forecast first
    labels = row_sources(choice, targets)
    assert labels.tolist() == ["observed"] * 12 + ["forecast"] * 12
    assert (
        row_sources(choose_weather(store, targets, PARAMS, "none"), targets).tolist()
        == ["none"] * 24
    )


def test_feature_table_keeps_the_row_weather_labels(store: Store) -> None:
    from edip_pipeline.features import day_ahead_pairs, read_feature_table, write_feature_table

    store.write("load_national", sample_load_rows())
    _hourly(store, "weather_observed", np.full(24 * 40, 5.0), start="2020-03-01")
    ft = build_feature_table(store, day_ahead_pairs("2020-03-25", "2020-04-20"), PARAMS)
    shares = ft.weather_shares()
    assert set(shares) == {"observed", "none"}
    # March 25 .. April 9 (one 23-hour day) and April 10's first two hours (CEST: 22:00Z, 23:00Z)
    assert shares["observed"] == pytest.approx((16 * 24 - 1 + 2) / (27 * 24 - 1), abs=1e-4)
    write_feature_table(store, ft, "features_test")
    back = read_feature_table(store, "features_test")
    assert back.row_weather is not None
    assert back.row_weather.tolist() == ft.row_weather.tolist()
    assert "weather_row_source" not in back.frame.columns
    assert back.weather_shares() == shares


def _vintages(store: Store, days: int = 60, start: str = "2020-01-01") -> None:
    """Forecast vintages: every ``_previous_day1`` value is 1.0, every ``_previous_day2`` 2.0."""
    for lead in (1, 2):
        _hourly(
            store,
            "weather_previous_runs",
            np.full(24 * days, float(lead)),
            variable=f"temperature_2m_c_previous_day{lead}",
            start=start,
        )


#: Paris day 2020-02-10 (CET): 2020-02-09T23:00Z .. 2020-02-10T22:00Z; origin 2020-02-09T11:00Z
FEB10 = pd.date_range("2020-02-09T23:00Z", periods=24, freq="1h")


def test_vintage_known_at_the_day_ahead_origin_first(store: Store) -> None:
    """D-1 12:00 Paris origin: _previous_day1 for D 00:00-06:00 Paris, _previous_day2 after."""
    _vintages(store)
    _hourly(store, "weather_historical_forecast", np.full(24 * 60, 7.0))
    _hourly(store, "weather_observed", np.full(24 * 60, 5.0))
    choice = choose_weather(store, FEB10, PARAMS, "auto")
    assert choice.source == "forecast"
    assert choice.description.startswith("vintage:")
    feats = weather_features(choice, FEB10, PARAMS)
    # day1 issued ~t - 24 h, + 6 h publication lag <= 2020-02-09T11:00Z  <=>  t <= 05:00Z
    assert feats["temperature_c"].tolist() == [1.0] * 7 + [2.0] * 17
    assert row_sources(choice, FEB10).tolist() == ["forecast-vintage"] * 24


def test_vintage_then_historical_forecast_then_observed_per_row(store: Store) -> None:
    _vintages(store)
    _hourly(store, "weather_historical_forecast", np.full(24 * 60, 7.0))
    # an earlier origin (36 h before D-1 12:00): day1 never known, day2 only for t <= 05:00Z
    origins = pd.DatetimeIndex([pd.Timestamp("2020-02-08T11:00Z")] * len(FEB10))
    choice = choose_weather(store, FEB10, PARAMS, "forecast", origins=origins)
    assert choice.source == "forecast"
    feats = weather_features(choice, FEB10, PARAMS)
    assert feats["temperature_c"].tolist() == [2.0] * 7 + [7.0] * 17
    assert row_sources(choice, FEB10).tolist() == ["forecast-vintage"] * 7 + ["forecast"] * 17
    with pytest.raises(ValueError, match="one entry per target"):
        choose_weather(store, FEB10, PARAMS, "forecast", origins=origins[:3])


def test_vintage_before_observed_oracle(store: Store) -> None:
    _vintages(store, days=20, start="2020-02-10")
    _hourly(store, "weather_observed", np.full(24 * 60, 5.0))
    targets = pd.date_range("2020-02-09T12:00Z", periods=24, freq="1h")
    choice = choose_weather(store, targets, PARAMS, "auto")
    assert choice.source == "observed-as-forecast"
    labels = row_sources(choice, targets).tolist()
    assert labels == ["observed"] * 12 + ["forecast-vintage"] * 12
    assert weather_features(choice, targets, PARAMS)["temperature_c"].tolist() == (
        [5.0] * 12 + [1.0] * 6 + [2.0] * 6
    )


def test_feature_table_reports_the_vintage_share(store: Store) -> None:
    from edip_pipeline.features import day_ahead_pairs

    store.write("load_national", sample_load_rows())
    _vintages(store, days=60, start="2020-03-01")
    ft = build_feature_table(store, day_ahead_pairs("2020-03-25", "2020-04-20"), PARAMS)
    assert ft.weather_source == "forecast"
    assert ft.weather_shares() == {"forecast-vintage": 1.0}
    assert set(ft.frame["temperature_c"]) == {1.0, 2.0}


def test_live_forecast_runs_fill_the_vintage_archive(store: Store) -> None:
    """weather_forecast_runs (stored by each live forecast ingest) is read like previous-runs."""
    _hourly(
        store,
        "weather_forecast_runs",
        np.full(24 * 60, 3.0),
        variable="temperature_2m_c_previous_day2",
    )
    _vintages(store, days=40)  # the archive stops on 2020-02-09 23:00Z: the live runs fill after
    choice = choose_weather(store, FEB10, PARAMS, "forecast")
    assert choice.source == "forecast"
    assert row_sources(choice, FEB10).tolist() == ["forecast-vintage"] * 24
    # 23:00Z on the 9th from the archive (day1); the archive has no day1 after, the live runs
    # have day2 only
    assert weather_features(choice, FEB10, PARAMS)["temperature_c"].tolist() == ([1.0] + [3.0] * 23)
