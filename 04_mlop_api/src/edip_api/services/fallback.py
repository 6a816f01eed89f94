"""The documented fallback forecaster: "same hour last week".

Why: with no loadable champion (registry down, corrupt artifact, feature-contract mismatch) the API
still answers, with the weekly-seasonal naive forecast every load forecaster is judged against:
P50 = the ``load_same_hour_last_week`` feature (the load of the same hour, a whole number of weeks
before the target, known at the origin — see ``edip_pipeline.features.load``). P10 and P90 are
``null``: the fallback makes no claim about its uncertainty. Responses and ``/ready`` say
``model.source == "fallback"`` with the reason. The loop asks for it by ``GET /v1/fallback``
(:func:`fallback_forecast`) when it issues a flagged fallback.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from edip_api.services.errors import NotReadyError

if TYPE_CHECKING:
    from edip_api.services.forecast import ForecastResult, ForecastService

FALLBACK_NAME = "same_hour_last_week"
FALLBACK_COLUMN = "load_same_hour_last_week"


def fallback_quantiles(X: pd.DataFrame) -> np.ndarray:
    """``[N, 3]`` P10/P50/P90 with NaN P10/P90 (no interval is claimed)."""
    if FALLBACK_COLUMN not in X.columns:
        raise ValueError(f"the fallback needs the {FALLBACK_COLUMN!r} feature")
    p50 = X[FALLBACK_COLUMN].to_numpy(dtype=float)
    out = np.full((len(X), 3), np.nan)
    out[:, 1] = p50
    return out


def fallback_forecast(
    service: ForecastService, origin: datetime | None, horizon: int
) -> ForecastResult:
    """The fallback's forecast from an origin, whichever model is served (``GET /v1/fallback``).

    Why here: the loop issues this when its data-quality gate fails or the champion cannot
    forecast; asking the API keeps one implementation of the fallback. Targets whose load a
    whole number of weeks before is unknown at the origin are left out (no value is invented).
    """
    from edip_api.services.forecast import TARGET_STEP, ForecastResult  # (cycle: the manager)
    from edip_api.services.model_manager import fallback_model
    from edip_pipeline.features import build_feature_table
    from edip_pipeline.features.calendar import rolling_pairs

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
