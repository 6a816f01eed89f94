"""A store with RTE's D-1 forecast for part of the sample, and a ``combination_rte`` champion.

Why synthetic: the bundled éCO2mix sample carries no RTE forecast, and no fixture may be cut
from the development data. ENTSO-E's perimeter sits about 600 MW below ODRÉ's consumption, so
the forecast written here is the sample's hourly load minus 600 MW plus noise — a strong but
biased expert, as the real one is — on the days asked for only, so a test can see both variants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from edip_testkit.platform import temporary_env

if TYPE_CHECKING:
    from edip_pipeline.store import Store

#: ENTSO-E's actual load sits about this far below ODRÉ's consumption (another perimeter)
PERIMETER_MW = 600.0
#: the small set the tests train: two quick experts plus RTE's forecast
RTE_SET: dict[str, dict[str, object]] = {
    "combination": {"experts": ["ridge", "same_hour_last_week"], "rte_source": "entsoe"},
    "backtest": {"baselines": [], "weather": "none"},
}


def write_entsoe_forecast(store: Store, first: str, last: str, seed: int = 0) -> int:
    """ENTSO-E rows (``load_entsoe``) for Paris days ``first``..``last``: RTE's D-1 forecast and
    the actual, both on ENTSO-E's perimeter; returns the hours written."""
    from edip_pipeline.calendar import PARIS
    from edip_pipeline.features import load_target
    from edip_pipeline.schema import Vintage
    from edip_pipeline.sources.base import canonical

    start = pd.Timestamp(first).tz_localize(PARIS).tz_convert("UTC")
    end = (pd.Timestamp(last) + pd.Timedelta(days=1)).tz_localize(PARIS).tz_convert("UTC")
    hours = pd.date_range(start, end, freq="h", inclusive="left")
    load = load_target(store, hours, "1h").to_numpy(dtype=float)
    actual = load - PERIMETER_MW
    noise = np.random.default_rng(seed).normal(0.0, 400.0, len(hours))
    rows = pd.concat(
        [
            canonical(hours, actual + noise, variable="entsoe_forecast_d1_mw", area="FR",
                      vintage=int(Vintage.FORECAST), source="entsoe"),
            canonical(hours, actual, variable="entsoe_actual_mw", area="FR",
                      vintage=int(Vintage.REALTIME), source="entsoe"),
        ]
    )  # fmt: skip
    store.write("load_entsoe", rows.dropna(subset=["value"]))
    return len(hours)


def train_rte_champion(store: Store, tracking_uri: str, model_name: str, end: str) -> str:
    """Train and register ``combination_rte`` over :data:`RTE_SET`, alias it champion; its
    version."""
    from mlflow import MlflowClient

    from edip_ml.config import MLParams
    from edip_ml.registry.tracking_server import configure
    from edip_ml.registry.versions import CHAMPION
    from edip_ml.training.train import train_models

    with temporary_env({"MLFLOW_TRACKING_URI": tracking_uri}):
        configure(tracking_uri)
        result = train_models(
            ["combination_rte"],
            end=end,
            store=store,
            params=MLParams().with_overrides(RTE_SET),
            backtest_days=21,
            model_name=model_name,
            experiment=f"{model_name}-tests",
        )[0]
        if not result.ok or result.version is None:
            raise RuntimeError(f"training combination_rte failed: {result.error}")
        MlflowClient(tracking_uri).set_registered_model_alias(model_name, CHAMPION, result.version)
    return result.version
