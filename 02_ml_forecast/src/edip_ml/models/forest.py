"""RandomForest: an sklearn ``Pipeline`` (median imputer → ``RandomForestRegressor``).

Kept a plain sklearn ``Pipeline`` so that skl2onnx converts it as is; the imputer is needed
because the forest does not take NaN (weather groups or early lags may be missing). Like every
family here it is one model over all horizons (``horizon_h`` is a feature; see
:mod:`edip_ml.models`) and learns the load as a ratio to the last known load
(:class:`~edip_ml.models.linear.EstimatorForecaster`).
"""

from __future__ import annotations

from typing import ClassVar

from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

from edip_ml.config import RandomForestParams
from edip_ml.hyperparams import ModelParams
from edip_ml.models.linear import EstimatorForecaster
from edip_pipeline.runtime import with_threads


class RandomForestForecaster(EstimatorForecaster):
    """Bagged deep trees: a robust, low-tuning reference among the tree models."""

    name: ClassVar[str] = "rf"
    params_class: ClassVar[type[ModelParams]] = RandomForestParams

    def _build(self) -> Pipeline:
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                (
                    "forest",
                    RandomForestRegressor(
                        random_state=self.seed, **with_threads(self.estimator_params)
                    ),
                ),
            ]
        )
