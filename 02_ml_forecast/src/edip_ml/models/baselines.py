"""Naive baselines on the same harness: same hour last week, same hour yesterday.

They learn nothing (``_fit_median`` only checks the column exists) and predict a feature column,
so they run through the same backtest, get the same conformal P10/P90 and export like any model.
Both columns are horizon-aware (see :mod:`edip_pipeline.features.load`): for a day-ahead origin at
12:00, "yesterday" is the most recent same-hour value known at the origin (two days back for
afternoon targets), never a value from after the origin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from edip_ml.models.base import Forecaster, ModelError

if TYPE_CHECKING:
    import onnx


class ColumnBaseline(Forecaster):
    """Predicts one feature column as the median."""

    column: ClassVar[str]
    handles_nan: ClassVar[bool] = True
    family: ClassVar[str] = "baseline"

    def _index(self) -> int:
        try:
            return self.feature_names.index(self.column)
        except ValueError:
            raise ModelError(
                f"{self.name}: feature {self.column!r} is not among the features "
                "(load group missing, or the lag is not in features.lag_days)"
            ) from None

    def _fit_median(self, X: np.ndarray, y: np.ndarray) -> None:
        self._index()

    def _predict_median(self, X: np.ndarray) -> np.ndarray:
        return X[:, self._index()].astype(float)

    def median_graph(self) -> onnx.ModelProto:
        from edip_ml.export.onnx_wrap import column_graph

        return column_graph(self._index(), len(self.feature_names))

    def importances(self) -> pd.Series | None:
        return pd.Series(1.0, index=[self.column], name="importance")


class SameHourLastWeek(ColumnBaseline):
    """Load at the same hour one week before the target (the classic skill reference)."""

    name: ClassVar[str] = "same_hour_last_week"
    column: ClassVar[str] = "load_same_hour_last_week"


class SameHourYesterday(ColumnBaseline):
    """Most recent same-hour load known at the origin (``load_lag_1d``, horizon-aware)."""

    name: ClassVar[str] = "same_hour_yesterday"
    column: ClassVar[str] = "load_lag_1d"
