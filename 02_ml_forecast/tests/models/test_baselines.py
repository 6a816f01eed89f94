"""Baselines: the median is one feature column, which must be there."""

from __future__ import annotations

import numpy as np
import pytest

from edip_ml.models import BASELINES, make_model
from edip_ml.models.base import ModelError

from .conftest import SMALL


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_predict_their_column(name: str, xy: tuple) -> None:
    X, y, Xt = xy
    model = make_model(name, SMALL).fit(X, y)
    col = {"same_hour_last_week": "load_same_hour_last_week", "same_hour_yesterday": "load_lag_1d"}
    np.testing.assert_allclose(
        model.predict(Xt)["p50"], Xt[col[name]].to_numpy(np.float32), rtol=1e-6
    )


def test_baseline_without_its_column(xy: tuple) -> None:
    X, y, _ = xy
    with pytest.raises(ModelError, match="load_same_hour_last_week"):
        make_model("same_hour_last_week", SMALL).fit(X.drop(columns="load_same_hour_last_week"), y)
