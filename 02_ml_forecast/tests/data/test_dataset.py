"""make_xy and the protocol grids: shapes, labels, and the clear errors on bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edip_ml.config import MLParams, load_ml_params
from edip_ml.data.dataset import (
    check_history,
    default_train_start,
    feature_params,
    make_xy,
    protocol_pairs,
)
from edip_ml.models.base import ModelError
from edip_pipeline.config import FeatureParams
from edip_pipeline.features import day_ahead_pairs
from edip_pipeline.store import Store

from ..conftest import PARAMS_FILE

PARAMS = MLParams()


def test_params_yaml_has_the_ml_section() -> None:
    p = load_ml_params(PARAMS_FILE)
    assert p.models == ["lightgbm", "xgboost", "gam", "gam_kalman", "combination"]
    assert "rf" not in p.models  # slow: available, not default
    assert p.backtest.retrain == "MS"
    assert p.tracking.registered_model == "edip-load-fr"
    assert p.promotion.max_mape == pytest.approx(0.05)


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_ml_params(tmp_path / "nope.yaml") == MLParams()


def test_overrides_are_nested() -> None:
    p = PARAMS.with_overrides({"xgboost": {"n_estimators": 7}, "step": "30min"})
    assert p.xgboost.n_estimators == 7
    assert p.xgboost.learning_rate == PARAMS.xgboost.learning_rate
    assert p.step == "30min"


def test_make_xy_shapes_and_index(sample_store: Store) -> None:
    pairs = day_ahead_pairs("2020-03-02", "2020-03-08")
    X, y, ft = make_xy(sample_store, pairs, PARAMS, "none")
    assert list(X.index.names) == ["origin", "target_time"]
    assert len(X) == len(y) == 7 * 24
    assert y.notna().all()
    assert X.index.equals(y.index)
    assert set(ft.available_groups) == {"calendar", "holidays", "load"}
    assert list(X.columns) == ft.columns_of("calendar", "holidays", "load")
    assert "horizon_h" in X.columns
    assert ft.weather_source == "none"


def test_rows_without_target_are_dropped_and_reported(
    sample_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    # targets on 2021-01-01 are after the sample's end: features exist, the label does not
    pairs = day_ahead_pairs("2020-12-31", "2021-01-01")
    with caplog.at_level(logging.WARNING, logger="edip_ml.data.dataset"):
        X, _y, _ = make_xy(sample_store, pairs, PARAMS, "none")
    assert len(X) == 24
    assert "dropping 24 of 48 rows" in caplog.text
    X2, y2, _ = make_xy(sample_store, pairs, PARAMS, "none", drop_missing_target=False)
    assert len(X2) == 48
    assert int(y2.isna().sum()) == 24


def test_empty_store_is_a_clear_error(empty_store: Store) -> None:
    with pytest.raises(ModelError, match="no data"):
        make_xy(empty_store, day_ahead_pairs("2020-03-02", "2020-03-03"), PARAMS, "none")
    with pytest.raises(ModelError, match="no data"):
        default_train_start(empty_store, feature_params(empty_store, PARAMS))


def test_period_without_data_is_a_clear_error(sample_store: Store) -> None:
    with pytest.raises(ModelError, match=r"no data.*load_national/consumption_mw"):
        make_xy(sample_store, day_ahead_pairs("2016-03-02", "2016-03-03"), PARAMS, "none")


def test_no_pairs_is_a_clear_error(sample_store: Store) -> None:
    empty = pd.DataFrame({"origin": [], "target_time": []})
    with pytest.raises(ModelError, match="no data"):
        make_xy(sample_store, empty, PARAMS)


def test_missing_feature_group_is_named(sample_store: Store) -> None:
    pairs = day_ahead_pairs("2020-03-02", "2020-03-03")
    with pytest.raises(ModelError, match=r"\['temperature'\].*temperature_c"):
        make_xy(sample_store, pairs, PARAMS, groups=["calendar", "load", "temperature"])


def test_check_history() -> None:
    idx = pd.MultiIndex.from_arrays(
        [
            pd.date_range("2020-01-01", periods=48, freq="1h", tz="UTC"),
            pd.date_range("2020-01-02", periods=48, freq="1h", tz="UTC"),
        ],
        names=["origin", "target_time"],
    )
    y = pd.Series(np.ones(48), index=idx)
    check_history(y, 1.5)
    with pytest.raises(ModelError, match=r"too little history.*span 2\.0 days.*need 90"):
        check_history(y, 90)
    with pytest.raises(ModelError, match="too little history"):
        check_history(y.iloc[:0], 1)


def test_rolling_pairs_grid() -> None:
    p = PARAMS.with_overrides({"backtest": {"rolling_origin_every": "6h"}})
    pairs = protocol_pairs("2020-03-02", "2020-03-03", "rolling-24h", p, FeatureParams())
    assert pairs["origin"].nunique() == 8
    assert len(pairs) == 8 * 24
    h = (pairs["target_time"] - pairs["origin"]) / pd.Timedelta(hours=1)
    assert h.min() == 0
    assert h.max() == 23


def test_intraday_pairs_grid() -> None:
    """The re-issue protocol: an origin every 3 h (Paris), each to the end of its day D; from
    18:00 on, D is tomorrow (the D-1 18:00 re-issue)."""
    pairs = protocol_pairs("2020-03-02", "2020-03-02", "intraday", PARAMS, FeatureParams())
    origins = pd.DatetimeIndex(pairs["origin"].unique()).tz_convert("Europe/Paris")
    assert list(origins.hour) == [0, 3, 6, 9, 12, 15, 18, 21]
    counts = pairs.groupby("origin").size()
    assert list(counts) == [24, 21, 18, 15, 12, 9, 30, 27]
    h = (pairs["target_time"] - pairs["origin"]) / pd.Timedelta(hours=1)
    assert h.min() == 0
    assert h.max() == 29


def test_default_train_start_leaves_the_lookback(sample_store: Store) -> None:
    day = default_train_start(sample_store, feature_params(sample_store, PARAMS))
    # sample starts 2019-01-01 (Paris); lags go back 14 days + 1 day + a step
    assert pd.Timestamp("2019-01-16") <= day <= pd.Timestamp("2019-01-18")
