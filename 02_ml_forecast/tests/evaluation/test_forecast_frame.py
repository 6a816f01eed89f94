"""The forecasts frame: one model's rows, horizons, scalar bands, the sorted assembly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_ml.evaluation.forecast_frame import assemble_forecasts, forecast_frame
from edip_ml.evaluation.metrics import COLUMNS


def _index(n: int) -> pd.MultiIndex:
    origin = pd.Timestamp("2020-03-01 11:00", tz="UTC")
    targets = pd.date_range("2020-03-01 23:00", periods=n, freq="h", tz="UTC")
    return pd.MultiIndex.from_arrays([[origin] * n, targets], names=["origin", "target_time"])


def test_one_models_rows() -> None:
    index = _index(3)
    actual = pd.Series([1.0, 2.0, 3.0], index=index)
    f = forecast_frame(index, "m", np.nan, np.array([10.0, 20.0, 30.0]), np.nan, actual)
    assert list(f.columns) == list(COLUMNS)
    assert list(f["horizon_h"]) == [12.0, 13.0, 14.0]
    assert f["p10"].isna().all()
    assert f["p90"].isna().all()
    assert list(f["model"]) == ["m"] * 3
    assert list(f["actual"]) == [1.0, 2.0, 3.0]


def test_assembly_sorts_by_model_origin_target() -> None:
    index = _index(2)
    actual = pd.Series([1.0, 2.0], index=index)
    b = forecast_frame(index[::-1], "b", 0.0, np.array([2.0, 1.0]), 0.0, actual[::-1])
    a = forecast_frame(index, "a", np.array([0.0, 0.0]), np.array([1.0, 2.0]), 5.0, actual)
    out = assemble_forecasts([b, a])
    assert list(out["model"]) == ["a", "a", "b", "b"]
    assert out.groupby("model")["target_time"].apply(lambda t: t.is_monotonic_increasing).all()
    assert list(out.index) == [0, 1, 2, 3]
    assert list(out.columns) == list(COLUMNS)
