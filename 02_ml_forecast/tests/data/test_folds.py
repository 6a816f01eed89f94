"""Fold planning: fold keys per protocol, the test window, monthly folds, leak-free training rows."""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
import pytest

from edip_ml.config import BacktestParams
from edip_ml.data.folds import Window, fold_keys, fold_rows, plan_folds, resolve_window
from edip_ml.models.base import ModelError
from edip_ml.data.training_data import TrainingData

STEP = pd.Timedelta(hours=1)


class _Data:
    """The part of :class:`TrainingData` the window needs."""

    load_first = pd.Timestamp("2020-01-01", tz="UTC")
    load_last = pd.Timestamp("2020-06-30 23:30", tz="UTC")

    def last_complete_day(self) -> pd.Timestamp:
        return pd.Timestamp("2020-06-30")

    def default_train_start(self) -> pd.Timestamp:
        return pd.Timestamp("2020-01-15")


DATA = cast(TrainingData, _Data())


def day_ahead(first: str, days: int) -> tuple[pd.DataFrame, pd.Series]:
    """Day-ahead rows: origin 12:00 Paris on D-1, the 24 hourly targets of D (Paris)."""
    rows = []
    for d in pd.date_range(first, periods=days, freq="D", tz="Europe/Paris"):
        origin = (d - pd.Timedelta(hours=12)).tz_convert("UTC")
        for t in pd.date_range(d, d + pd.DateOffset(days=1), freq="h", inclusive="left"):
            rows.append((origin, t.tz_convert("UTC")))
    index = pd.MultiIndex.from_tuples(rows, names=["origin", "target_time"])
    X = pd.DataFrame({"x": np.arange(len(index), dtype=float)}, index=index)
    return X, pd.Series(np.ones(len(index)), index=index)


def test_fold_keys_follow_the_protocol() -> None:
    X, _ = day_ahead("2020-03-01", 2)
    target_days = fold_keys(X, "day-ahead")
    origin_days = fold_keys(X, "rolling-24h")
    assert set(target_days) == {pd.Timestamp("2020-03-01"), pd.Timestamp("2020-03-02")}
    assert set(origin_days) == {pd.Timestamp("2020-02-29"), pd.Timestamp("2020-03-01")}


def test_window_defaults_to_the_last_whole_months() -> None:
    w = resolve_window(BacktestParams(test_months=2), DATA, None, None)
    assert (w.start_day, w.end_day) == (pd.Timestamp("2020-05-01"), pd.Timestamp("2020-06-30"))
    assert w.train_day == pd.Timestamp("2020-01-15")
    w = resolve_window(BacktestParams(train_start="2020-02-01"), DATA, "2020-04-20", "2020-05-10")
    assert (w.train_day, w.start_day) == (pd.Timestamp("2020-02-01"), pd.Timestamp("2020-04-20"))
    with pytest.raises(ValueError, match="before start"):
        resolve_window(BacktestParams(), DATA, "2020-05-10", "2020-05-01")
    with pytest.raises(ModelError, match="too little history"):
        resolve_window(BacktestParams(), DATA, "2020-01-10", "2020-05-01")


def test_monthly_folds_train_only_on_ended_targets() -> None:
    X, y = day_ahead("2020-01-01", 160)
    window = Window(
        pd.Timestamp("2020-01-01"), pd.Timestamp("2020-04-20"), pd.Timestamp("2020-05-10")
    )
    plan = plan_folds(X, y, "day-ahead", window, "MS", DATA)
    assert [plan.bounds[k].date().isoformat() for k in plan.fold_ids] == [
        "2020-04-20",
        "2020-05-01",
    ]
    assert plan.is_test.sum() == 21 * 24
    folds = [fold_rows(plan, k, STEP) for k in plan.fold_ids]
    for fold, te, tr in folds:
        assert fold.train_end <= fold.first_origin
        assert not (tr & te).any()
        targets = pd.DatetimeIndex(X.index.get_level_values("target_time"))
        assert (targets[tr] + STEP <= fold.first_origin).all()
    (f0, _, tr0), (f1, _, tr1) = folds
    assert (f0.test_start, f0.test_end, f1.test_start) == ("2020-04-20", "2020-04-30", "2020-05-01")
    assert f1.n_train > f0.n_train  # expanding window
    assert (tr0 & ~tr1).sum() == 0
    assert f0.as_dict()["first_origin"] == f0.first_origin.isoformat()


def test_no_test_rows_or_no_actuals() -> None:
    X, y = day_ahead("2020-01-01", 30)
    late = Window(
        pd.Timestamp("2020-01-01"), pd.Timestamp("2020-03-01"), pd.Timestamp("2020-03-05")
    )
    with pytest.raises(ModelError, match="no test rows"):
        plan_folds(X, y, "day-ahead", late, "MS", DATA)
    window = Window(
        pd.Timestamp("2020-01-01"), pd.Timestamp("2020-01-20"), pd.Timestamp("2020-01-30")
    )
    with pytest.raises(ModelError, match="no actual load"):
        plan_folds(X, y * np.nan, "day-ahead", window, "MS", DATA)
