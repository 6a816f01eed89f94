"""Window layout, row checks, origin split and training-only scaling on a tiny synthetic table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_dl.windows import (
    check_rows,
    finite_stats,
    fit_scaling,
    reference_np,
    split_by_origin,
    target_step,
    window_layout,
)
from edip_ml.models.base import ModelError

from .conftest import COLUMNS, synthetic_table


def _split(X: pd.DataFrame, y: pd.Series, fraction: float = 0.25):  # type: ignore[no-untyped-def]
    origins = pd.DatetimeIndex(X.index.get_level_values("origin"))
    targets = pd.DatetimeIndex(X.index.get_level_values("target_time"))
    Xa, yv = X.to_numpy(np.float32), y.to_numpy(float)
    return split_by_origin(Xa, yv, origins, targets, target_step(targets), fraction, "m")


def test_layout_reads_the_most_recent_steps_oldest_first() -> None:
    layout = window_layout(COLUMNS, 3, 1.0, "m")
    assert layout.window == [2, 1, 0]  # load_window_002 (oldest) .. load_window_000 (latest)
    assert layout.covariates == [6, 7, 8]
    assert layout.load_covariates == [True, False, False]  # levels scale, differences do not
    assert layout.reference == [6]
    assert window_layout(COLUMNS, None, 1.0, "m").window == [5, 4, 3, 2, 1, 0]
    assert window_layout(COLUMNS, 2, 0.5, "m").window == [3, 2, 1, 0]  # half-hour steps


def test_layout_refuses_a_missing_or_too_short_window() -> None:
    with pytest.raises(ModelError, match="window_h=7 h is longer than the 6-step window"):
        window_layout(COLUMNS, 7, 1.0, "m")
    with pytest.raises(ModelError, match="m: no past-load window columns"):
        window_layout(["load_last", "hour"], None, 1.0, "m")


def test_check_rows_refuses_inf_and_mostly_missing_windows() -> None:
    Xa = np.ones((3, len(COLUMNS)), dtype=np.float32)
    window = list(range(6))
    Xa[0, :3] = np.nan  # half the window: accepted at max share 0.5
    check_rows(Xa, window, COLUMNS, 0.5, "m", "training")
    Xa[1, :4] = np.nan
    with pytest.raises(ModelError, match="1 of 3 training rows miss more than 50%"):
        check_rows(Xa, window, COLUMNS, 0.5, "m", "training")
    Xa[1, :4] = 1.0
    Xa[2, 7] = np.inf
    with pytest.raises(
        ModelError, match=r"infinite values in the prediction features \['load_diff_24h'\]"
    ):
        check_rows(Xa, window, COLUMNS, 0.5, "m", "prediction")
    check_rows(Xa[:0], window, COLUMNS, 0.5, "m", "prediction")  # no rows, nothing to refuse


def test_split_sorts_by_origin_and_trains_only_on_known_labels() -> None:
    X, y = synthetic_table(days=20)  # pandas 3 gives microsecond indexes: the split must not care
    split = _split(X, y, 0.25)
    origins = pd.DatetimeIndex(X.index.get_level_values("origin"))
    order = np.argsort(origins.as_unit("ns").asi8, kind="stable")
    np.testing.assert_array_equal(split.y, y.to_numpy()[order])  # rows moved with their labels
    np.testing.assert_array_equal(split.X, X.to_numpy(np.float32)[order])
    assert list(split.starts) == list(range(0, 80, 4))
    assert list(split.counts) == [4] * 20
    assert list(split.val_origins) == [15, 16, 17, 18, 19]  # 25 % of 20 origins, the last ones
    assert split.val_rows.sum() == 20
    assert split.bounds["validation_start"] == "2020-01-16T11:00:00+00:00"
    assert split.bounds["train_first_target"] == "2020-01-02T00:00:00+00:00"
    # the last training origin's labels (up to 2020-01-16 03:00) are known before validation
    assert split.bounds["train_end"] == "2020-01-16T04:00:00+00:00"
    assert split.bounds["validation_end"] == "2020-01-21T04:00:00+00:00"
    assert not (split.train_rows & split.val_rows).any()
    assert list(split.train_origins) == list(range(15))
    assert list(split.all_origins) == list(range(20))
    with pytest.raises(ModelError, match="too few forecast origins to train \\(12\\)"):
        _split(*synthetic_table(days=12), 0.25)


def test_scaling_ignores_the_validation_rows() -> None:
    X, y = synthetic_table(days=20)
    layout = window_layout(COLUMNS, None, 1.0, "m")
    split = _split(X, y)
    a = fit_scaling(split.X[split.train_rows], split.y[split.train_rows], layout)
    late = X.index.get_level_values("origin") >= pd.Timestamp("2020-01-16 11:00", tz="UTC")
    y2, X2 = y.copy(), X.copy()
    y2[late] *= 3.0
    X2.loc[late, COLUMNS[:7]] *= 2.0
    split2 = _split(X2, y2)
    b = fit_scaling(split2.X[split2.train_rows], split2.y[split2.train_rows], layout)
    for name in ("fallback_reference", "window_mean", "window_std", "target_mean", "target_std"):
        assert getattr(a, name) == getattr(b, name), name
    np.testing.assert_array_equal(a.cov_mean, b.cov_mean)
    np.testing.assert_array_equal(a.cov_std, b.cov_std)
    assert a.fallback_reference == pytest.approx(float(np.mean(y[~late])))
    assert abs(a.target_mean) < 0.05  # labels around the reference level: ratio near 0
    assert a.cov_mean[0] == pytest.approx(1.0)  # load_last divided by itself (the reference)
    assert a.cov_std[0] == 1.0  # … is constant: a degenerate std becomes 1
    assert a.cov_mean[2] == pytest.approx(1.5)  # the hour (0..3) is not a load: not divided
    # a validation change that leaks would move the constants: check the test can see one
    c = fit_scaling(split2.X, split2.y, layout)
    assert c.target_mean != a.target_mean


def test_statistics_helpers() -> None:
    assert finite_stats(np.array([np.nan, np.inf])) == (0.0, 1.0)
    assert finite_stats(np.array([2.0, 2.0])) == (2.0, 1.0)  # degenerate std becomes 1
    assert finite_stats(np.array([1.0, 3.0, np.nan])) == (2.0, 1.0)
    X = np.array([[np.nan, 10.0], [-1.0, np.nan], [5.0, 7.0]])
    assert reference_np(X, [0, 1], 99.0).tolist() == [10.0, 99.0, 5.0]  # first finite > 0
    half_hours = pd.date_range("2020-01-01", periods=3, freq="30min", tz="UTC")
    assert target_step(half_hours) == pd.Timedelta("30min")
    assert target_step(half_hours[:1]) == pd.Timedelta("1h")
