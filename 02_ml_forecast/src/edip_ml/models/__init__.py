"""Forecasters behind one interface (:class:`~edip_ml.models.base.Forecaster`) and their registry.

Multi-horizon strategy: **direct, one model over all horizons**. Each (origin, target) pair is a
row whose features are horizon-aware (``horizon_h`` is a feature; the same-hour lags jump to the
last value known at the origin), so a single model serves the day-ahead horizons (12–36 h) and the
rolling 0–24 h ones alike, sees every training row, and exports as one ONNX graph. One model per
horizon group would multiply training time and split already small histories.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from edip_ml.config import BASELINES, MLParams
from edip_ml.models.base import Forecaster, ModelError, OnlineForecaster
from edip_ml.models.baselines import SameHourLastWeek, SameHourYesterday
from edip_ml.models.boosting import (
    LightGBMForecaster,
    LightGBMIntradayForecaster,
    XGBoostForecaster,
)
from edip_ml.models.combination import CombinedForecaster
from edip_ml.models.combination_rte import CombinedRteForecaster
from edip_ml.models.forest import RandomForestForecaster
from edip_ml.models.gam import GAMForecaster, GAMKalmanForecaster
from edip_ml.models.gam_dynamic import GAMKalmanDynamicForecaster
from edip_ml.models.linear import EstimatorForecaster, RidgeForecaster

MODELS: dict[str, type[Forecaster]] = {
    "rf": RandomForestForecaster,
    "xgboost": XGBoostForecaster,
    "lightgbm": LightGBMForecaster,
    "lightgbm_intraday": LightGBMIntradayForecaster,
    "ridge": RidgeForecaster,
    "gam": GAMForecaster,
    "gam_kalman": GAMKalmanForecaster,
    "gam_kalman_dynamic": GAMKalmanDynamicForecaster,
    "same_hour_last_week": SameHourLastWeek,
    "same_hour_yesterday": SameHourYesterday,
    "combination": CombinedForecaster,
    "combination_rte": CombinedRteForecaster,
}

log = logging.getLogger(__name__)

#: entry-point group through which other packages add forecasters (name → Forecaster subclass)
ENTRY_POINT_GROUP = "edip.models"


def available_models() -> dict[str, type[Forecaster]]:
    """The built-in models plus those of installed plugins (``edip.models`` entry points).

    Why entry points: ``edip_dl`` adds its sequence models to the same backtest, registry and
    promotion without ``edip_ml`` importing torch.
    """
    found: dict[str, type[Forecaster]] = dict(MODELS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            continue
        try:
            cls = ep.load()
        except Exception:  # a broken plugin must not take the built-in models down with it
            log.exception("cannot load model plugin %s = %s", ep.name, ep.value)
            continue
        if isinstance(cls, type) and issubclass(cls, Forecaster):
            found[ep.name] = cls
        else:
            log.warning("model plugin %s = %s is not a Forecaster subclass", ep.name, ep.value)
    return found


def make_model(name: str, params: MLParams | None = None, seed: int | None = None) -> Forecaster:
    """An unfitted forecaster of family ``name`` with its hyper-parameters from ``params``."""
    models = MODELS if name in MODELS else available_models()
    try:
        cls = models[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; known: {sorted(models)}") from None
    params = params or MLParams()
    return cls.from_params(params, params.seed if seed is None else seed)


__all__ = [
    "BASELINES",
    "MODELS",
    "CombinedForecaster",
    "EstimatorForecaster",
    "Forecaster",
    "GAMForecaster",
    "GAMKalmanDynamicForecaster",
    "GAMKalmanForecaster",
    "LightGBMForecaster",
    "ModelError",
    "OnlineForecaster",
    "RandomForestForecaster",
    "RidgeForecaster",
    "SameHourLastWeek",
    "SameHourYesterday",
    "XGBoostForecaster",
    "available_models",
    "make_model",
]
