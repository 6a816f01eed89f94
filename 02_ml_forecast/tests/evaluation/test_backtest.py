"""The backtest: row counts, no training label after a fold's first origin, protocols, steps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import edip_ml.evaluation.backtest as bt_module
from edip_ml.config import MLParams
from edip_ml.evaluation.backtest import (
    BacktestResult,
    backtest,
    run_backtest,
)
from edip_ml.evaluation.backtest_files import (
    backtest_to_files,
    protocol_params,
    read_forecasts,
    write_forecasts,
)
from edip_ml.evaluation.metrics import COLUMNS
from edip_ml.models import make_model
from edip_ml.models.base import Forecaster, ModelError
from edip_ml.models.walk_forward import WalkForward
from edip_pipeline.store import Store

from ..conftest import BT_BASELINES, BT_DAYS, BT_MODELS


def test_one_row_per_origin_target_model(sample_backtest: BacktestResult) -> None:
    df = sample_backtest.forecasts
    # the online ML-Poly combination of the experts present (lightgbm, xgboost) is appended
    models = [*BT_MODELS, *BT_BASELINES, "combination"]
    assert list(df.columns) == list(COLUMNS)
    assert sorted(df["model"].unique()) == sorted(models)
    assert df["origin"].nunique() == BT_DAYS
    assert len(df) == BT_DAYS * 24 * len(models)
    assert not df.duplicated(["origin", "target_time", "model"]).any()
    assert str(df["target_time"].dtype) == "datetime64[ns, UTC]"
    assert str(df["origin"].dtype) == "datetime64[ns, UTC]"
    # day-ahead: origin 12:00 Paris the day before, horizons 12..35 h
    local = pd.DatetimeIndex(df["origin"]).tz_convert("Europe/Paris")
    assert set(local.hour) == {12}
    assert df["horizon_h"].between(12, 35).all()
    assert df["actual"].notna().all()
    assert (df["p10"] <= df["p50"]).all()
    assert (df["p50"] <= df["p90"]).all()


def test_monthly_folds_and_no_training_label_after_first_origin(
    sample_backtest: BacktestResult,
) -> None:
    folds = sample_backtest.folds
    assert [f.test_start for f in folds] == ["2020-04-20", "2020-05-01"]  # monthly retrain
    df = sample_backtest.forecasts
    assert sum(f.n_test for f in folds) == BT_DAYS * 24
    for f in folds:
        in_fold = df[(df["origin"] >= f.first_origin) & (df["origin"] <= f.last_origin)]
        assert in_fold["origin"].min() == f.first_origin
        # the last training target interval ends no later than the first test origin
        assert f.train_end <= f.first_origin
        assert f.train_last_target < f.first_origin
    # expanding window
    assert folds[1].n_train > folds[0].n_train
    assert folds[1].train_first_target == folds[0].train_first_target
    attrs = df.attrs
    assert attrs["protocol"] == "day-ahead"
    assert attrs["folds"][0]["train_end"] <= attrs["folds"][0]["first_origin"]


def test_training_rows_never_postdate_any_test_origin(
    sample_store: Store, small_params: MLParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Instrument the models themselves: what they were fitted on vs what they forecast (a refit
    also predicts the rows published before its first origin that it was not trained on, to
    score them for the band when it absorbs them: re-scoring the past, not a forecast)."""
    seen: list[dict[str, Any]] = []
    forecasting: list[bool] = [False]
    plain_forecast = WalkForward.forecast

    def forecast(walk: WalkForward, X: pd.DataFrame) -> pd.DataFrame:
        forecasting[0] = True
        try:
            return plain_forecast(walk, X)
        finally:
            forecasting[0] = False

    class Spy:
        def __init__(self, inner: Forecaster) -> None:
            self.inner = inner
            self.rec: dict[str, Any] = {}

        def fit(self, X: pd.DataFrame, y: pd.Series, calibration_fraction: float) -> Spy:
            t = pd.DatetimeIndex(X.index.get_level_values("target_time"))
            self.rec["last_train_target_end"] = t.max() + pd.Timedelta("1h")
            self.inner.fit(X, y, calibration_fraction)
            return self

        @property
        def name(self) -> str:
            return self.inner.name

        def predict(self, X: pd.DataFrame) -> pd.DataFrame:
            if forecasting[0] and "first_test_origin" not in self.rec:  # its first forecast
                self.rec["first_test_origin"] = X.index.get_level_values("origin").min()
                seen.append(self.rec)
            return self.inner.predict(X)

    monkeypatch.setattr(bt_module, "make_model", lambda name, params: Spy(make_model(name, params)))
    monkeypatch.setattr(WalkForward, "forecast", forecast)
    backtest(
        sample_store, ["lightgbm"], "2020-02-24", "2020-03-05", "day-ahead", small_params,
        baselines=["same_hour_last_week"], progress=False,
    )  # fmt: skip
    assert len(seen) == 4  # 2 folds x 2 models
    for rec in seen:
        assert rec["last_train_target_end"] <= rec["first_test_origin"]


def test_thirty_minute_step(sample_store: Store, small_params: MLParams) -> None:
    p = small_params.with_overrides({"step": "30min"})
    df = run_backtest(
        sample_store, ["lightgbm"], "2020-06-10", "2020-06-12", "day-ahead", p,
        baselines=["same_hour_last_week"], progress=False,
    )  # fmt: skip
    assert len(df) == 3 * 48 * 2
    steps = df["target_time"].drop_duplicates().sort_values().diff().dropna().unique()
    assert pd.Timedelta("30min") in set(steps)
    assert df.attrs["step"] == "30min"
    assert df["p50"].notna().all()


def test_rolling_24h_protocol(sample_store: Store, small_params: MLParams) -> None:
    res = backtest(
        sample_store, ["xgboost"], "2020-06-10", "2020-06-12", "rolling-24h", small_params,
        baselines=["same_hour_yesterday"], progress=False,
    )  # fmt: skip
    df = res.forecasts
    assert df["origin"].nunique() == 3 * 4  # every 6 h
    assert len(df) == 12 * 24 * 2
    assert df["horizon_h"].min() == 0
    assert df["horizon_h"].max() == 23
    for f in res.folds:
        assert f.train_end <= f.first_origin
    assert df.attrs["protocol"] == "rolling-24h"


def test_rte_d1_benchmark_when_stored(
    sample_store: Store, small_params: MLParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Store.series

    def series(self: Store, dataset: str, variable: str, *args: Any, **kw: Any) -> pd.Series:
        if variable == "forecast_d1_mw":  # RTE's forecast: the actual load + 1 %
            return original(self, dataset, "consumption_mw", *args, **kw) * 1.01
        return original(self, dataset, variable, *args, **kw)

    monkeypatch.setattr(Store, "series", series)
    df = run_backtest(
        sample_store, ["same_hour_last_week"], "2020-06-10", "2020-06-11", "day-ahead",
        small_params, baselines=[], progress=False,
    )  # fmt: skip
    rte = df[df["model"] == "rte_d1"]
    assert len(rte) == 2 * 24
    np.testing.assert_allclose(rte["p50"], rte["actual"] * 1.01, rtol=1e-9)
    assert rte["p10"].isna().all()
    assert "rte_d1" in df.attrs["models"]


def test_no_rte_d1_without_the_variable(sample_backtest: BacktestResult) -> None:
    assert "rte_d1" not in set(sample_backtest.forecasts["model"])


def test_weather_source_is_recorded(sample_backtest: BacktestResult) -> None:
    assert sample_backtest.weather_source == "none"  # the sample has no weather
    assert sample_backtest.forecasts.attrs["weather_source"] == "none"
    assert sample_backtest.groups == ["calendar", "holidays", "load"]


def test_too_little_history(sample_store: Store, small_params: MLParams) -> None:
    with pytest.raises(ModelError, match="too little history"):
        backtest(sample_store, ["lightgbm"], "2019-02-20", "2019-02-25", params=small_params,
                 baselines=[], progress=False)  # fmt: skip
    with pytest.raises(ModelError, match="too little history"):
        backtest(sample_store, ["lightgbm"], "2019-01-05", "2019-01-10", params=small_params,
                 baselines=[], progress=False)  # fmt: skip


def test_period_without_data(sample_store: Store, small_params: MLParams) -> None:
    with pytest.raises(ModelError, match="no data"):
        backtest(sample_store, ["lightgbm"], "2022-01-01", "2022-01-31", params=small_params,
                 baselines=[], progress=False)  # fmt: skip


def test_empty_store(empty_store: Store, small_params: MLParams) -> None:
    with pytest.raises(ModelError, match="no data"):
        backtest(empty_store, ["lightgbm"], "2020-01-01", "2020-01-31", params=small_params)


def test_intraday_backtest_uses_the_training_columns(
    sample_store: Store, small_params: MLParams, tmp_path: Any
) -> None:
    """``edip backtest --protocol intraday``: the columns of ``edip train intraday`` (the shape
    columns of ml.intraday.feature_overrides), not the day-ahead ones."""
    assert protocol_params(small_params, "day-ahead") is small_params
    p = protocol_params(small_params, "intraday")
    assert p.protocol == "intraday"
    assert p.feature_overrides["shape_features"] is True
    assert not small_params.feature_overrides.get("shape_features")
    tiny = small_params.with_overrides(
        {"lightgbm_intraday": {"n_estimators": 30, "num_leaves": 15}}
    )
    paths = backtest_to_files(
        ["lightgbm_intraday"], "2020-06-10", "2020-06-11", protocol="intraday",
        out=tmp_path / "f.parquet", store=sample_store, params=tiny, baselines=[],
    )  # fmt: skip
    df = read_forecasts(paths[0])
    assert df.attrs["protocol"] == "intraday"
    assert df["p50"].notna().all()


def test_bad_protocol(sample_store: Store) -> None:
    with pytest.raises(ValueError, match="protocol"):
        backtest(sample_store, ["lightgbm"], "2020-01-01", "2020-01-31", "weekly")  # type: ignore[arg-type]


def test_write_and_read_forecasts(sample_backtest: BacktestResult, tmp_path: Any) -> None:
    path = write_forecasts(sample_backtest.forecasts, tmp_path / "f.parquet")
    back = read_forecasts(path)
    pd.testing.assert_frame_equal(back, sample_backtest.forecasts, check_like=False)
    assert back.attrs.get("weather_source") == "none"
