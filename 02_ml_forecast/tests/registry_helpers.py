"""Helpers of the registry, promotion, publish and tracking tests: sample rows, baselines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from edip_ml.registry.publish import publish
from edip_pipeline.store import Store

from .mlflow_server import ColumnForecaster, sample_xy

#: evaluation window used by the promotion tests (two ordinary weeks of the sample)
WINDOW = {"window_days": 14, "end_day": "2020-12-15"}


@pytest.fixture(scope="module")
def train_xy(sample_data_dir: Path) -> tuple[pd.DataFrame, pd.Series]:
    from edip_pipeline.config import Settings, load_params

    params_file = Path(__file__).resolve().parents[2] / "params.yaml"
    store = Store(
        sample_data_dir,
        load_params(params_file),
        Settings(data_dir=sample_data_dir, params_file=params_file),
    )
    return sample_xy(store, "2020-09-01", "2020-11-30")


def baseline(column: str, X: pd.DataFrame, y: pd.Series) -> ColumnForecaster:
    f = ColumnForecaster(column)
    f.name = "same_hour_yesterday" if column == "load_lag_1d" else "same_hour_last_week"  # type: ignore[misc]
    return f.fit(X, y)  # type: ignore[return-value]


def publish_version(f: ColumnForecaster, X: pd.DataFrame, name: str, store: Store) -> str:
    """Publish ``f`` as a new version of ``name`` (challenger); its version number."""
    published = publish(
        f, X_parity=X.tail(500), model_name=name, store=store, weather_source="none"
    )
    assert published.version is not None
    return str(published.version.version)
