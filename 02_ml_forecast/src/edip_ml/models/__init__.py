"""Forecasters behind one interface (:class:`~edip_ml.models.base.Forecaster`) and their registry.

Multi-horizon strategy: **direct, one model over all horizons**. Each (origin, target) pair is a
row whose features are horizon-aware (``horizon_h`` is a feature; the same-hour lags jump to the
last value known at the origin), so a single model serves the day-ahead horizons (12–36 h) and the
rolling 0–24 h ones alike, sees every training row, and exports as one ONNX graph. One model per
horizon group would multiply training time and split already small histories.
"""

from __future__ import annotations

from typing import Any

from edip_ml.config import MLParams
from edip_ml.models.base import Forecaster, ModelError
from edip_ml.models.baselines import SameHourLastWeek, SameHourYesterday
from edip_ml.models.boosting import LightGBMForecaster, XGBoostForecaster
from edip_ml.models.forest import RandomForestForecaster
from edip_ml.models.linear import EstimatorForecaster, RidgeForecaster

MODELS: dict[str, type[Forecaster]] = {
    "rf": RandomForestForecaster,
    "xgboost": XGBoostForecaster,
    "lightgbm": LightGBMForecaster,
    "ridge": RidgeForecaster,
    "same_hour_last_week": SameHourLastWeek,
    "same_hour_yesterday": SameHourYesterday,
}

#: models that only read a feature column (no training, no hyper-parameters)
BASELINES: tuple[str, ...] = ("same_hour_last_week", "same_hour_yesterday")


def make_model(name: str, params: MLParams | None = None, seed: int | None = None) -> Forecaster:
    """An unfitted forecaster of family ``name`` with its hyper-parameters from ``params``."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; known: {sorted(MODELS)}") from None
    params = params or MLParams()
    hyper: dict[str, Any] = params.hyper(name)
    return cls(hyper, seed=params.seed if seed is None else seed)


__all__ = [
    "BASELINES",
    "MODELS",
    "EstimatorForecaster",
    "Forecaster",
    "LightGBMForecaster",
    "ModelError",
    "RandomForestForecaster",
    "RidgeForecaster",
    "SameHourLastWeek",
    "SameHourYesterday",
    "XGBoostForecaster",
    "make_model",
]
