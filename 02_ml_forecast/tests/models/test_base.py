"""The Forecaster interface: refused targets and histories, named missing features, seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_ml.models import make_model
from edip_ml.models.base import ModelError

from .conftest import SMALL


@pytest.mark.parametrize("name", ["lightgbm", "same_hour_last_week"])
def test_nan_target_is_refused(name: str, xy: tuple) -> None:
    X, y, _ = xy
    y = y.copy()
    y.iloc[5] = np.nan
    with pytest.raises(ModelError, match="NaN in the target"):
        make_model(name, SMALL).fit(X, y)


def test_too_little_history_is_refused(xy: tuple) -> None:
    X, y, _ = xy
    with pytest.raises(ModelError, match="too little history"):
        make_model("xgboost", SMALL).fit(X.iloc[:50], y.iloc[:50])


@pytest.mark.parametrize("name", ["rf", "same_hour_yesterday"])
def test_missing_feature_at_predict_is_named(name: str, xy: tuple) -> None:
    X, y, Xt = xy
    model = make_model(name, SMALL).fit(X, y)
    with pytest.raises(ModelError, match="load_roll_mean_24h"):
        model.predict(Xt.drop(columns=["load_roll_mean_24h"]))


def test_seeded_models_are_reproducible(xy: tuple) -> None:
    X, y, Xt = xy
    a = make_model("lightgbm", SMALL).fit(X, y).predict(Xt)
    b = make_model("lightgbm", SMALL).fit(X, y).predict(Xt)
    pd.testing.assert_frame_equal(a, b)
