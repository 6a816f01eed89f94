"""RTE's D-1 forecast as the ``rte_d1_mw`` feature: off by default, known at 10:00 Paris on D-1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.config import FeatureParams
from edip_pipeline.contract import RTE_FEATURE, WITH_RTE, WITHOUT_RTE, variant_of
from edip_pipeline.features import build_feature_table, feature_names
from edip_pipeline.features.rte import known_at, rte_forecast_at
from edip_pipeline.schema import Vintage
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store

DAY = pd.date_range("2024-01-14T23:00Z", periods=24, freq="h")  # Paris day 2024-01-15


@pytest.fixture
def entsoe(store: Store) -> Store:
    """ENTSO-E's forecast of 2024-01-15, hourly, and a week of national load before it."""
    rows = canonical(
        DAY, 59_000 + 100 * np.arange(24.0), variable="entsoe_forecast_d1_mw", area="FR",
        vintage=int(Vintage.FORECAST), source="t",
    )  # fmt: skip
    store.write("load_entsoe", rows)
    return store


def test_known_at_is_10_paris_on_d_minus_1_in_winter_and_summer() -> None:
    assert known_at(DAY)[0] == pd.Timestamp("2024-01-14T09:00Z")  # CET
    assert known_at(DAY)[-1] == pd.Timestamp("2024-01-14T09:00Z")  # 23:00 Paris, same day
    summer = pd.DatetimeIndex([pd.Timestamp("2024-06-30T22:00Z")])  # 00:00 Paris on 07-01
    assert known_at(summer)[0] == pd.Timestamp("2024-06-30T08:00Z")  # CEST


def test_off_by_default_no_column() -> None:
    assert FeatureParams().rte_forecast == "none"
    assert RTE_FEATURE not in feature_names(FeatureParams())
    assert feature_names(FeatureParams(rte_forecast="entsoe"))[-1] == RTE_FEATURE


def test_feature_known_from_10_paris_the_day_before(entsoe: Store) -> None:
    params = entsoe.params.features.model_copy(update={"rte_forecast": "entsoe"})
    at_10 = pd.Timestamp("2024-01-14T09:00Z")  # 10:00 Paris on D-1: known
    at_09 = pd.Timestamp("2024-01-14T08:00Z")  # 09:00 Paris on D-1: not yet
    pairs = pd.DataFrame(
        {
            "origin": [at_10] * 24 + [at_09] * 24,
            "target_time": list(DAY) * 2,
        }
    )
    ft = build_feature_table(entsoe, pairs, params)
    assert ft.groups["rte"] == [RTE_FEATURE]
    rte = ft.frame[RTE_FEATURE]
    assert rte.xs(at_10, level="origin").tolist() == (59_000 + 100 * np.arange(24.0)).tolist()
    assert rte.xs(at_09, level="origin").isna().all()


def test_a_missing_forecast_is_nan(entsoe: Store) -> None:
    next_day = DAY + pd.Timedelta(days=1)
    origins = pd.DatetimeIndex([pd.Timestamp("2024-01-15T11:00Z")] * 24)
    assert np.isnan(rte_forecast_at(entsoe, "entsoe", next_day, pd.Timedelta("1h"), origins)).all()


def test_variant_is_with_rte_only_when_every_row_has_it() -> None:
    names = ["hour", RTE_FEATURE]
    full = np.array([[0.0, 60_000.0], [1.0, 61_000.0]])
    assert variant_of(names, full) == WITH_RTE
    assert variant_of(names, np.array([[0.0, 60_000.0], [1.0, np.nan]])) == WITHOUT_RTE
    assert variant_of(["hour"], full[:, :1]) == WITHOUT_RTE
