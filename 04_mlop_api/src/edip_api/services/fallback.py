"""The documented fallback forecaster: "same hour last week".

Why: with no loadable champion (registry down, corrupt artifact, feature-contract mismatch) the API
still answers, with the weekly-seasonal naive forecast every load forecaster is judged against:
P50 = the ``load_same_hour_last_week`` feature (the load of the same hour, a whole number of weeks
before the target, known at the origin — see ``edip_pipeline.features.load``). P10 and P90 are
``null``: the fallback makes no claim about its uncertainty. Responses and ``/ready`` say
``model.source == "fallback"`` with the reason. The loop asks for it by ``GET /v1/fallback``
(:func:`edip_api.services.fallback_forecast.fallback_forecast`) when it issues a flagged fallback.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
