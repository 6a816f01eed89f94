"""The forecasts frame: one row per (origin, target_time, model), columns :data:`COLUMNS`.

Why its own module: every producer (the backtest's folds, RTE's D-1 benchmark, the combinations)
builds its rows the same way, and :mod:`edip_ml.evaluation.metrics` reads exactly that layout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_ml.evaluation.metrics import COLUMNS


def forecast_frame(
    index: pd.Index,
    model: str,
    p10: np.ndarray | float,
    p50: np.ndarray,
    p90: np.ndarray | float,
    actual: pd.Series,
) -> pd.DataFrame:
    """One model's rows: ``p10``/``p90`` may be scalars (NaN for a benchmark without a band)."""
    o = pd.DatetimeIndex(index.get_level_values("origin"))
    t = pd.DatetimeIndex(index.get_level_values("target_time"))
    n = len(index)
    return pd.DataFrame(
        {
            "origin": o,
            "target_time": t,
            "model": np.full(n, model, dtype=object),
            "horizon_h": np.asarray((t - o) / pd.Timedelta(hours=1), dtype=float),
            "p10": np.broadcast_to(np.asarray(p10, dtype=float), (n,)),
            "p50": np.asarray(p50, dtype=float),
            "p90": np.broadcast_to(np.asarray(p90, dtype=float), (n,)),
            "actual": actual.to_numpy(dtype=float),
        }
    )


def assemble_forecasts(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One forecasts frame, sorted by model, origin, target (stable), in :data:`COLUMNS` order."""
    forecasts = pd.concat(frames, ignore_index=True)
    forecasts = forecasts.sort_values(["model", "origin", "target_time"], kind="mergesort")
    return forecasts.reset_index(drop=True)[list(COLUMNS)]
