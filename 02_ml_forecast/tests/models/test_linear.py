"""Estimators learning the ratio to a reference load: the reference and its fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from edip_ml.models import EstimatorForecaster, make_model
from edip_ml.models.base import ModelError

from .conftest import SMALL


def test_ratio_target_needs_a_load_feature(xy: tuple) -> None:
    X, y, _ = xy
    calendar_only = X[[c for c in X.columns if not c.startswith("load_")]]
    with pytest.raises(ModelError, match="target reference"):
        make_model("lightgbm", SMALL).fit(calendar_only, y)
    raw = SMALL.with_overrides({"lightgbm": {"target_reference": []}})
    out = make_model("lightgbm", raw).fit(calendar_only, y).predict(calendar_only.iloc[:24])
    assert out["p50"].notna().all()


def test_reference_falls_back_when_load_last_is_missing(xy: tuple) -> None:
    X, y, Xt = xy
    model = make_model("ridge", SMALL).fit(X, y)
    gap = Xt.copy()
    gap["load_last"] = np.nan
    out = model.predict(gap)
    assert out["p50"].notna().all()
    assert isinstance(model, EstimatorForecaster)
    ref = model.reference(gap[model.feature_names].to_numpy(np.float32))
    np.testing.assert_allclose(ref, gap["load_roll_mean_24h"].to_numpy(np.float32))
