"""Fold planning of the rolling-origin backtest: the test window, retraining folds, their cutoffs.

Why its own module: which rows a fold trains on is the leak-free guarantee of
:mod:`edip_ml.evaluation.backtest`, so it is kept apart from fitting and assembling forecasts. A fold trains
on every row of the Paris days over by the fold's first test origin (the whole day known, as the
walk-forward engine absorbs it: :func:`edip_ml.models.walk_forward.day_ends`), so a fold's model
is what ``edip train`` fits on the days up to the eve of that origin, and records ``train_end``
(end of its last target interval, ``<= first_origin``) to prove it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from edip_ml.config import BacktestParams, Protocol
from edip_ml.models.base import ModelError
from edip_ml.models.walk_forward import day_ends
from edip_ml.data.training_data import TrainingData
from edip_pipeline.calendar import PARIS, paris_day


@dataclass
class Fold:
    """One retraining: what it was trained on and what it forecast."""

    index: int
    test_start: str  # first Paris day of the fold (ISO date)
    test_end: str  # last Paris day of the fold (ISO date)
    first_origin: pd.Timestamp
    last_origin: pd.Timestamp
    train_first_target: pd.Timestamp
    train_last_target: pd.Timestamp
    train_end: pd.Timestamp  # end of the last training target interval: <= first_origin
    n_train: int
    n_test: int
    fit_seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable view (timestamps as ISO strings)."""
        return {
            k: (v.isoformat() if isinstance(v, pd.Timestamp) else v)
            for k, v in asdict(self).items()
        }


@dataclass(frozen=True)
class Window:
    """The Paris days of the backtest: training from ``train_day``, testing ``start_day .. end_day``."""

    train_day: pd.Timestamp
    start_day: pd.Timestamp
    end_day: pd.Timestamp


@dataclass(frozen=True)
class FoldPlan:
    """Rows of the feature table per fold: ``fold_of[i]`` indexes ``bounds``; ``is_test`` masks."""

    keys: pd.DatetimeIndex
    bounds: pd.DatetimeIndex
    fold_of: np.ndarray
    is_test: np.ndarray
    fold_ids: list[int]
    origins: pd.DatetimeIndex
    targets: pd.DatetimeIndex
    has_y: np.ndarray


def fold_keys(X: pd.DataFrame, protocol: Protocol) -> pd.DatetimeIndex:
    """Paris day that assigns a row to a fold: target day (day-ahead) or origin day (rolling)."""
    level = "target_time" if protocol == "day-ahead" else "origin"
    t = pd.DatetimeIndex(X.index.get_level_values(level)).tz_convert(PARIS)
    return pd.DatetimeIndex(t.tz_localize(None).normalize())


def resolve_window(
    bt: BacktestParams,
    data: TrainingData,
    start: str | pd.Timestamp | None,
    end: str | pd.Timestamp | None,
) -> Window:
    """Resolve the test days (arguments, else ``bt``, else the last ``bt.test_months`` whole months
    of the stored load) and the first training day; raises when there is no room to train."""
    end_value, start_value = end or bt.end, start or bt.start
    end_day = paris_day(end_value) if end_value else data.last_complete_day()
    if start_value:
        start_day = paris_day(start_value)
    else:  # the last bt.test_months whole calendar months up to end_day
        start_day = (end_day + pd.Timedelta(days=1) - pd.DateOffset(months=bt.test_months)).replace(
            day=1
        )
    if end_day < start_day:
        raise ValueError(f"backtest end {end_day.date()} is before start {start_day.date()}")
    train_day = paris_day(bt.train_start) if bt.train_start else data.default_train_start()
    if train_day >= start_day:
        raise ModelError(
            f"too little history: load starts {data.load_first.isoformat()}, so training targets "
            f"start {train_day.date()}, not before the test start {start_day.date()}"
        )
    return Window(train_day=train_day, start_day=start_day, end_day=end_day)


def plan_folds(
    X: pd.DataFrame,
    y: pd.Series,
    protocol: Protocol,
    window: Window,
    retrain: str,
    data: TrainingData,
) -> FoldPlan:
    """Group the test rows by retraining date (``retrain`` frequency from the test start)."""
    start_day, end_day = window.start_day, window.end_day
    keys = fold_keys(X, protocol)
    is_test = np.asarray((keys >= start_day) & (keys <= end_day))
    if not is_test.any():
        raise ModelError(f"no data: no test rows between {start_day.date()} and {end_day.date()}")
    if y[is_test].isna().all():
        raise ModelError(
            f"no data: no actual load in {start_day.date()} .. {end_day.date()} "
            f"(store holds {data.load_first.isoformat()} .. {data.load_last.isoformat()})"
        )
    bounds = pd.DatetimeIndex(sorted({start_day, *pd.date_range(start_day, end_day, freq=retrain)}))
    fold_of = np.searchsorted(bounds.as_unit("ns").asi8, keys.as_unit("ns").asi8, side="right") - 1
    fold_ids = [k for k in range(len(bounds)) if (is_test & (fold_of == k)).any()]
    return FoldPlan(
        keys=keys,
        bounds=bounds,
        fold_of=fold_of,
        is_test=is_test,
        fold_ids=fold_ids,
        origins=pd.DatetimeIndex(X.index.get_level_values("origin")),
        targets=pd.DatetimeIndex(X.index.get_level_values("target_time")),
        has_y=y.notna().to_numpy(),
    )


def fold_rows(plan: FoldPlan, k: int, step: pd.Timedelta) -> tuple[Fold, np.ndarray, np.ndarray]:
    """Fold ``k`` with its test mask and its leak-free training mask (expanding window)."""
    origins, targets = plan.origins, plan.targets
    te = plan.is_test & (plan.fold_of == k)
    cutoff = origins[te].min()
    tr = (day_ends(targets) <= cutoff.as_unit("ns").value) & plan.has_y
    fold = Fold(
        index=k,
        test_start=str(plan.keys[te].min().date()),
        test_end=str(plan.keys[te].max().date()),
        first_origin=cutoff,
        last_origin=origins[te].max(),
        train_first_target=targets[tr].min(),
        train_last_target=targets[tr].max(),
        train_end=targets[tr].max() + step,
        n_train=int(tr.sum()),
        n_test=int(te.sum()),
    )
    return fold, te, tr
