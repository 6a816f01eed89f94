"""Shared by the model tests: small hyper-parameters and sample-store rows."""

from __future__ import annotations

import pandas as pd
import pytest

from edip_ml.config import MLParams
from edip_ml.data.dataset import make_xy
from edip_pipeline.features import day_ahead_pairs
from edip_pipeline.store import Store

SMALL = MLParams().with_overrides(
    {
        "rf": {"n_estimators": 10, "max_depth": 6},
        "xgboost": {"n_estimators": 20, "max_depth": 3},
        "lightgbm": {"n_estimators": 20, "num_leaves": 7},
        "lightgbm_intraday": {"n_estimators": 20, "num_leaves": 7},
    }
)


@pytest.fixture(scope="module")
def xy(sample_store: Store) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """60 days of training rows and the following week to predict."""
    X, y, _ = make_xy(sample_store, day_ahead_pairs("2019-09-01", "2019-10-30"), SMALL, "none")
    Xt, _, _ = make_xy(sample_store, day_ahead_pairs("2019-10-31", "2019-11-06"), SMALL, "none")
    return X, y, Xt
