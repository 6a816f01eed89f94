"""Training data built once: read from the table ``edip features`` wrote, rebuilt when stale;
the default training start with partial weather; the backtest's default period."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_ml.evaluation.backtest import backtest
from edip_ml.config import MLParams
from edip_ml.data.training_data import ensure_training_data, load_training_data
from edip_pipeline.flows.build_features import build_features_flow
from edip_pipeline.schema import Vintage
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store

from ..conftest import sample_load_rows

PARAMS = MLParams()


@pytest.fixture
def store(empty_store: Store) -> Store:
    """The sample's load in this test's own data directory (the one ``Store()`` opens)."""
    empty_store.write("load_national", sample_load_rows())
    return empty_store


def write_temperature(store: Store, start: str, end: str) -> None:
    """Hourly national temperatures (made up) in ``weather_observed``, area FR."""
    t = pd.date_range(start, end, freq="1h", tz="UTC", inclusive="left")
    values = 12 + 8 * np.sin(np.arange(len(t)) * 2 * np.pi / 24)
    rows = canonical(
        t,
        values,
        variable="temperature_2m_c",
        area="FR",
        vintage=int(Vintage.DEFINITIVE),
        source="test",
    )
    store.write("weather_observed", rows)


def test_reads_the_table_edip_features_wrote_and_rebuilds_when_stale(store: Store) -> None:
    path = build_features_flow.fn()  # the stored range, weather auto (what `edip features` does)
    data = load_training_data(store, PARAMS)
    assert data.origin == str(path)
    assert data.first_day == pd.Timestamp("2019-01-17")
    assert data.last_day == pd.Timestamp("2020-12-31")
    assert data.target.notna().mean() > 0.99
    X, y, ft = data.xy("2020-03-01", "2020-03-31")
    assert len(X) == len(y) == 31 * 24 - 1  # the spring clock change
    assert ft.available_groups == ["calendar", "holidays", "load"]

    # the same data stands for the same request; other feature params do not
    assert ensure_training_data(data, store, PARAMS, "auto", "day-ahead") is data
    other = PARAMS.with_overrides({"feature_overrides": {"lag_days": [1, 7]}})
    assert not data.matches(other, "auto", "day-ahead")
    assert load_training_data(store, other).origin == "built in memory"
    assert load_training_data(store, PARAMS, weather="none").origin == "built in memory"

    write_temperature(store, "2020-06-01", "2020-07-01")  # the data version moves on
    assert load_training_data(store, PARAMS).origin == "built in memory"


def test_training_starts_where_weather_starts_unless_told(store: Store) -> None:
    write_temperature(store, "2020-03-01", "2021-01-01")
    data = load_training_data(store, PARAMS, weather="observed")
    assert data.weather_start() == pd.Timestamp("2020-03-01")
    assert data.load_ready_day() == pd.Timestamp("2019-01-17")
    assert data.default_train_start() == pd.Timestamp("2020-03-01")
    X, _, ft = data.xy("2020-01-01", "2020-04-30")  # an explicit start mixes, and says so
    assert ft.weather_source == "observed-as-forecast"
    assert data.weather_share(X) == pytest.approx(61 / 121, abs=0.01)
    none = load_training_data(store, PARAMS, weather="none")
    assert none.default_train_start() == pd.Timestamp("2019-01-17")
    assert none.weather_share(none.xy()[0]) == 0.0


def test_backtest_defaults_to_the_last_months_of_the_store(store: Store) -> None:
    params = PARAMS.with_overrides({"backtest": {"test_months": 1}})
    data = load_training_data(store, params, weather="none")
    result = backtest(
        store,
        ["same_hour_yesterday"],
        params=params,
        weather="none",
        baselines=[],
        progress=False,
        data=data,
    )
    df = result.forecasts
    days = pd.DatetimeIndex(df["target_time"]).tz_convert("Europe/Paris").normalize()
    assert days.min() == pd.Timestamp("2020-12-01", tz="Europe/Paris")
    assert days.max() == pd.Timestamp("2020-12-31", tz="Europe/Paris")
    assert result.folds[0].train_first_target == pd.Timestamp("2019-01-16T23:00Z")
    assert df.attrs["features_from"] == "built in memory"
    assert df.attrs["train_weather_share"] == 0.0
    assert df.attrs["weather_shares"] == {"none": 1.0}


def test_backtest_reports_the_weather_source_of_each_test_row(store: Store) -> None:
    write_temperature(store, "2020-06-01", "2020-12-16")  # half of December observed
    params = PARAMS.with_overrides({"backtest": {"test_months": 1}})
    result = backtest(store, ["same_hour_yesterday"], params=params, baselines=[], progress=False)
    shares = result.forecasts.attrs["weather_shares"]
    assert set(shares) == {"observed", "none"}
    assert shares["observed"] == pytest.approx(15 / 31, abs=0.01)
    assert result.weather_source == "observed-as-forecast"
    # training starts on the first day with weather (its first two hours, 22:00Z and 23:00Z, lack it)
    assert result.forecasts.attrs["train_weather_share"] == pytest.approx(1.0, abs=1e-3)
