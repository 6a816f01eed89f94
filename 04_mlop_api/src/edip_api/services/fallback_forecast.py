"""The fallback's forecast from an origin, served by ``GET /v1/fallback``.

Why apart from :mod:`edip_api.services.fallback`: the fallback's arithmetic is what the model
manager serves when no champion loads, while this needs the forecast service (which needs the
manager): kept apart, the services import each other one way only.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from edip_api.services.errors import NotReadyError
from edip_api.services.forecast import TARGET_STEP, ForecastService
from edip_api.services.forecast_result import ForecastResult
from edip_api.services.model_manager import fallback_model
from edip_pipeline.features import build_feature_table
from edip_pipeline.features.calendar import rolling_pairs


def fallback_forecast(
    service: ForecastService, origin: datetime | None, horizon: int
) -> ForecastResult:
    """The fallback's forecast from an origin, whichever model is served (``GET /v1/fallback``).

    Why here: the loop issues this when its data-quality gate fails or the champion cannot
    forecast; asking the API keeps one implementation of the fallback. Targets whose load a
    whole number of weeks before is unknown at the origin are left out (no value is invented).
    """
    model = fallback_model(service.settings, service.models.default_params, "asked for")
    snap = service.data_snapshot()
    o = service.resolve_origin(origin, model.feature_params, snap)
    pairs = rolling_pairs(pd.DatetimeIndex([o]), horizon, TARGET_STEP)
    table = build_feature_table(service.view.store, pairs, model.feature_params)
    quantiles = model.predict(table.frame)
    known = np.isfinite(quantiles[:, 1])
    if not known.any():
        raise NotReadyError(
            f"no load stored a week before any target of origin {o.isoformat()}: no fallback"
        )
    targets = pd.DatetimeIndex(pairs["target_time"])[known]
    return ForecastResult(model, o, targets, quantiles[known], table.weather_source, snap)
