"""The conformance suite (:mod:`edip_testkit.conformance`) over the four sequence models, as
the ML tests run it over the tree, linear, GAM and combination families."""

from __future__ import annotations

import pandas as pd
import pytest

from edip_dl.config import ARCHITECTURES
from edip_ml.config import MLParams
from edip_ml.models import make_model
from edip_testkit.conformance import check_forecaster

from .test_cli import _fx

mlflow_server = _fx.mlflow_server
tracking = _fx.tracking
model_name = _fx.model_name

Data = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_conforms(
    name: str, dl_ml_params: MLParams, train_test: Data, tracking: str, model_name: str
) -> None:
    X, y, Xt, yt = train_test
    model = check_forecaster(
        lambda: make_model(name, dl_ml_params),
        pd.concat([X, Xt]),
        pd.concat([y, yt]),
        model_name=model_name,
    )
    assert model.name == name
