"""RTE's D-1 forecast from ODRÉ or ENTSO-E, with the actual of its own source and availability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.rte_forecast import known_at, rte_d1
from edip_pipeline.schema import Vintage
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store

DAY = pd.date_range("2024-01-14T23:00Z", periods=24, freq="h")  # Paris day 2024-01-15


def rows(times: pd.DatetimeIndex, values: np.ndarray, variable: str) -> pd.DataFrame:
    return canonical(
        times, values, variable=variable, area="FR", vintage=int(Vintage.FORECAST), source="t"
    )


@pytest.fixture
def both(store: Store) -> Store:
    """ODRÉ half-hours for the first 12 hours of the day, ENTSO-E hours for all 24."""
    half = pd.date_range(DAY[0], periods=24, freq="30min")
    store.write(
        "load_national",
        pd.concat(
            [
                rows(half, 60_000 + 10 * np.arange(24), "forecast_d1_mw"),
                rows(half, 61_000 + 10 * np.arange(24), "consumption_mw"),
            ]
        ),
    )
    store.write(
        "load_entsoe",
        pd.concat(
            [
                rows(DAY, 59_000 + 100 * np.arange(24.0), "entsoe_forecast_d1_mw"),
                rows(DAY, 58_400 + 100 * np.arange(24.0), "entsoe_actual_mw"),
            ]
        ),
    )
    return store


def test_auto_takes_the_source_covering_most_targets(both: Store) -> None:
    d1 = rte_d1(both, DAY, "1h")
    assert d1.source == "entsoe"
    assert d1.actual_name == "load_entsoe/entsoe_actual_mw"
    assert d1.label == "rte_d1 from entsoe (scored against load_entsoe/entsoe_actual_mw)"
    assert d1.forecast[3] == 59_300.0
    assert d1.actual[3] == 58_700.0


def test_odre_scored_against_the_label(both: Store) -> None:
    d1 = rte_d1(both, DAY[:12], "1h")  # both cover these: ODRÉ wins the tie
    assert d1.source == "odre"
    assert d1.actual_name == "load_national/consumption_mw"
    assert d1.forecast[0] == 60_005.0  # mean of the two half-hours
    assert d1.actual[1] == 61_025.0
    forced = rte_d1(both, DAY[:12], "1h", source="entsoe")
    assert forced.source == "entsoe"
    assert forced.forecast[0] == 59_000.0


def test_a_finer_step_takes_the_hour_holding_it(both: Store) -> None:
    halves = pd.date_range(DAY[0], periods=4, freq="30min")
    d1 = rte_d1(both, halves, "30min", source="entsoe")
    assert d1.forecast.tolist() == [59_000.0, 59_000.0, 59_100.0, 59_100.0]


def test_known_at_10_paris_the_day_before(both: Store) -> None:
    assert known_at(DAY[:1])[0] == pd.Timestamp("2024-01-14T09:00Z")
    summer = pd.DatetimeIndex([pd.Timestamp("2024-07-01T21:59Z")])
    assert known_at(summer)[0] == pd.Timestamp("2024-06-30T08:00Z")
    noon = pd.DatetimeIndex([pd.Timestamp("2024-01-14T11:00Z")] * 24)  # the 12:00 origin
    assert not np.isnan(rte_d1(both, DAY, origins=noon).forecast).any()
    early = pd.DatetimeIndex([pd.Timestamp("2024-01-14T08:00Z")] * 24)  # 09:00 Paris
    d1 = rte_d1(both, DAY, origins=early)
    assert d1.source == "none"
    assert np.isnan(d1.forecast).all()


def test_nothing_stored(store: Store) -> None:
    d1 = rte_d1(store, DAY)
    assert (d1.source, d1.actual_name, d1.coverage()) == ("none", "none", 0.0)
