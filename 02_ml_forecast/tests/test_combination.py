"""The served combination: merged ONNX graph and online state reproduce the native combination."""

from __future__ import annotations

import json

import numpy as np
import onnx

from edip_ml.models import Forecaster, make_model
from edip_ml.models.combination import CombinedForecaster
from edip_ml.onnx_export import OnnxForecaster, parity_delta, to_onnx
from edip_pipeline.online import MLPoly
from edip_testkit.synthetic import heating_rows


def built(experts: list[Forecaster], state: MLPoly) -> CombinedForecaster:
    combined = CombinedForecaster({"experts": [e.name for e in experts]})
    combined.set_experts(experts, state, (-800.0, 900.0))
    return combined


def test_served_combination_is_what_is_evaluated() -> None:
    """Merged ONNX (onnxruntime + numpy) = the native combination, state updates included."""
    X, y = heating_rows(days=300)
    experts = [make_model(n).fit(X, y) for n in ("gam", "gam_kalman", "same_hour_last_week")]
    state = MLPoly(3)
    E = np.column_stack([e.predict(X.iloc[-500:])["p50"] for e in experts])
    state.update(E, y.iloc[-500:].to_numpy(), X["hour"].iloc[-500:].to_numpy())
    combined = built(experts, state)
    onx = to_onnx(combined)
    assert parity_delta(combined, onx, X.iloc[-300:]) < 1.0
    served = OnnxForecaster(onx.SerializeToString())
    assert served.online_state is not None
    assert served.online_state["kind"] == "mlpoly"
    # a day's update applied to the state JSON changes the served forecast, no training library
    state.update(E[-24:] + 1000, y.iloc[-24:].to_numpy(), X["hour"].iloc[-24:].to_numpy())
    props = {p.key: p.value for p in onx.metadata_props}
    props["online_state"] = json.dumps(built(experts, state).online_state())
    del onx.metadata_props[:]
    onnx.helper.set_model_props(onx, props)
    again = OnnxForecaster(onx.SerializeToString()).predict(X.iloc[-48:])
    np.testing.assert_allclose(again["p50"], combined.predict(X.iloc[-48:])["p50"], atol=1.0)
