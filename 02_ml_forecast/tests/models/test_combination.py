"""The served combination: merged ONNX graph and online state reproduce the native combination."""

from __future__ import annotations

import json

import numpy as np
import onnx

from edip_ml.export.onnx_export import OnnxForecaster, parity_delta, to_onnx
from edip_ml.models import Forecaster, make_model
from edip_ml.models.combination import CombinedForecaster
from edip_pipeline.conformal import ConformalBand
from edip_pipeline.online import MLPoly, combine
from edip_testkit.synthetic import heating_rows


def built(experts: list[Forecaster], state: MLPoly, band: ConformalBand) -> CombinedForecaster:
    combined = CombinedForecaster({"experts": [e.name for e in experts]})
    combined.set_experts(experts, state, band)
    return combined


def test_served_combination_is_what_is_evaluated() -> None:
    """Merged ONNX (onnxruntime + numpy) = the native combination, state updates included."""
    X, y = heating_rows(days=300)
    experts = [make_model(n).fit(X, y) for n in ("gam", "gam_kalman", "same_hour_last_week")]
    state = MLPoly(3)
    E = np.column_stack([e.predict(X.iloc[-500:])["p50"] for e in experts])
    state.update(E, y.iloc[-500:].to_numpy(), X["hour"].iloc[-500:].to_numpy())
    band = ConformalBand(window=20, min_count=7)
    p50 = combine(E, state.weights(), X["hour"].iloc[-500:].to_numpy())
    band.update(p50, y.iloc[-500:].to_numpy(), X["hour"].iloc[-500:].to_numpy())
    combined = built(experts, state, band)
    onx = to_onnx(combined)
    assert parity_delta(combined, onx, X.iloc[-300:]) < 1.0
    served = OnnxForecaster(onx.SerializeToString())
    assert served.online_state is not None
    assert served.online_state["kind"] == "mlpoly"
    # a day's update applied to the state JSON changes the served forecast, no training library
    state.update(E[-24:] + 1000, y.iloc[-24:].to_numpy(), X["hour"].iloc[-24:].to_numpy())
    props = {p.key: p.value for p in onx.metadata_props}
    props["online_state"] = json.dumps(built(experts, state, band).online_state())
    del onx.metadata_props[:]
    onnx.helper.set_model_props(onx, props)
    again = OnnxForecaster(onx.SerializeToString()).predict(X.iloc[-48:])
    np.testing.assert_allclose(again["p50"], combined.predict(X.iloc[-48:])["p50"], atol=1.0)
    native = combined.predict(X.iloc[-48:])
    np.testing.assert_allclose(again[["p10", "p90"]], native[["p10", "p90"]], atol=1.0)
    assert (native["p90"] - native["p10"] > 100).all()  # the adaptive band, served as evaluated
    assert served.online_state["conformal"]["kind"] == "aci"
