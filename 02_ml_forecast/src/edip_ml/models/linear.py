"""Estimator-backed forecasters (shared wrapper) and the ridge baseline.

:class:`EstimatorForecaster` wraps any scikit-learn-API regressor and learns the median as a
**ratio to a reference load**: ``y / r`` where ``r`` is, per row, the first non-NaN of
``target_reference`` (default ``load_last``, then the 24 h and 168 h rolling means). Why: trees
cannot extrapolate, and French load drifts in level (2020's lockdowns, the season); as a ratio to
the last known hour the target is stationary and trees only learn the shape from the origin to the
target. Measured on the bundled sample (Jul–Dec 2020, day-ahead, monthly retraining): LightGBM
MAPE 2.6 % → 2.1 %, XGBoost 2.6 % → 2.2 %, RandomForest 3.0 % → 2.4 %.

ONNX note for the exporter: the native output is ``estimator(X) * r`` with ``r`` the first
non-NaN of the columns :attr:`EstimatorForecaster.reference_features` (a ``Where(IsNaN)`` chain
over ``Gather``-ed inputs, then ``Mul``); the conformal offsets are added after, in MW.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from edip_ml.config import WRAPPER_KEYS, RidgeParams
from edip_ml.hyperparams import ModelParams
from edip_ml.models.base import Forecaster, ModelError
from edip_pipeline.contributions import RECENT_LOAD, grouped

if TYPE_CHECKING:
    import onnx


class EstimatorForecaster(Forecaster):
    """A regressor with ``fit``/``predict`` learning ``load / reference``."""

    #: scikit-learn pipelines by default; the boosting classes name their own
    family: ClassVar[str] = "sklearn"

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        super().__init__(params, seed)
        self.reference_features: list[str] = list(self.params.get("target_reference") or [])
        self.estimator: Any = None

    @property
    def estimator_params(self) -> dict[str, Any]:
        """The estimator's keyword arguments: ``params`` without the wrapper's keys."""
        return {k: v for k, v in self.params.items() if k not in WRAPPER_KEYS}

    @abstractmethod
    def _build(self) -> Any:
        """A fresh, unfitted estimator."""

    def reference(self, X: np.ndarray) -> np.ndarray:
        """Per row, the first non-NaN reference column (ones when no reference is configured)."""
        if not self.reference_features:
            return np.ones(len(X))
        absent = [c for c in self.reference_features if c not in self.feature_names]
        if len(absent) == len(self.reference_features):
            raise ModelError(
                f"{self.name}: none of the target reference features {absent} is among the "
                "features (the load group is needed)"
            )
        r = np.full(len(X), np.nan)
        for c in self.reference_features:
            if c in self.feature_names:
                col = X[:, self.feature_names.index(c)].astype(float)
                r = np.where(np.isnan(r), col, r)
        return r

    def _fit_median(self, X: np.ndarray, y: np.ndarray) -> None:
        r = self.reference(X)
        ok = np.isfinite(r) & (r > 0)
        if ok.sum() < 2:
            raise ModelError(f"{self.name}: no row has a usable target reference")
        self.estimator = self._build()
        self.estimator.fit(X[ok], y[ok] / r[ok], **self._fit_options(X[ok]))

    def _fit_options(self, X: np.ndarray) -> dict[str, Any]:
        """Extra keyword arguments of the estimator's ``fit`` (row weights): none by default."""
        return {}

    def _predict_median(self, X: np.ndarray) -> np.ndarray:
        if self.estimator is None:
            raise ModelError(f"{self.name}: predict called before fit")
        return np.asarray(self.estimator.predict(X), dtype=float) * self.reference(X)

    def tree_contributions(self, X: np.ndarray) -> np.ndarray | None:
        """``[N, F + 1]`` TreeSHAP values of the ratio (last column: the expected value) from
        the estimator's own library, or ``None`` (a family without them)."""
        return None

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame | None:
        """The trees' TreeSHAP values times the reference load (the model is ``ratio × r``); the
        expected ratio times ``r`` counts as the recent load level."""
        Xa = self._matrix(X)
        phi = self.tree_contributions(Xa)
        if phi is None:
            return None
        values = np.asarray(phi, dtype=float) * self.reference(Xa)[:, None]
        return grouped(values, [*self.feature_names, RECENT_LOAD], X.index)

    def _fitted(self) -> Any:
        if self.estimator is None:
            raise ModelError(f"{self.name}: not fitted")
        return self.estimator

    def median_graph(self) -> onnx.ModelProto:
        from edip_ml.export.onnx_export import estimator_graph

        return estimator_graph(
            self.family, self._fitted(), list(self.feature_names), self.reference_features
        )

    def log_native(self, tmpdir: Path) -> str | None:
        from edip_ml.registry.tracking import log_estimator

        return log_estimator(self.family, self._fitted())

    def importances(self) -> pd.Series | None:
        from edip_ml.registry.tracking import estimator_importances

        return estimator_importances(self._fitted(), list(self.feature_names))


class RidgeForecaster(EstimatorForecaster):
    """Ridge regression on the same features (imputed, standardised): the linear baseline."""

    name: ClassVar[str] = "ridge"
    params_class: ClassVar[type[ModelParams]] = RidgeParams

    def _build(self) -> Pipeline:
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("scale", StandardScaler()),
                ("ridge", Ridge(**self.estimator_params)),
            ]
        )
