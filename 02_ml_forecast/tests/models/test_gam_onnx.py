"""The GAM's ONNX graph: parity with the native model, effects output, served Kalman state."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from edip_ml.export.onnx_export import OnnxForecaster, parity_delta, to_onnx
from edip_ml.models import make_model
from edip_ml.models.gam import EFFECTS, GAMKalmanForecaster
from edip_testkit.synthetic import heating_rows


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return heating_rows()


@pytest.mark.parametrize("name", ["gam", "gam_kalman"])
def test_onnx_export_matches_native(name: str, data) -> None:  # type: ignore[no-untyped-def]
    X, y = data
    model = make_model(name).fit(X, y)
    onx = to_onnx(model)
    Xt = X.iloc[-200:].copy()
    Xt.iloc[:5, Xt.columns.get_loc("temperature_c")] = np.nan
    assert parity_delta(model, onx, Xt) < 1.0
    runtime = OnnxForecaster(onx.SerializeToString())
    assert "effects" in runtime.outputs
    assert (runtime.online_state is not None) == (name == "gam_kalman")


def test_served_kalman_state_is_applied_by_numpy(data) -> None:  # type: ignore[no-untyped-def]
    """A new θ in the metadata changes the served P50 exactly as θᵀ effects (no retraining)."""
    X, y = data
    model = GAMKalmanForecaster().fit(X, y)
    onx = to_onnx(model)
    state = model.state.to_dict()  # type: ignore[union-attr]
    state["theta"] = [1.1] * len(EFFECTS)
    props = {p.key: p.value for p in onx.metadata_props}
    props["online_state"] = json.dumps(state)
    del onx.metadata_props[:]
    onnx.helper.set_model_props(onx, props)
    served = OnnxForecaster(onx.SerializeToString()).predict(X.iloc[-24:])
    expected = 1.1 * model.effects(X.iloc[-24:]).sum(axis=1)
    np.testing.assert_allclose(served["p50"], expected, rtol=1e-5)
