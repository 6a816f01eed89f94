"""The contract wrapped around a median graph: outputs, shapes, metadata, horizon groups, errors."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pandas as pd
import pytest

from edip_ml.export.onnx_export import OnnxForecaster, check_parity, to_onnx
from edip_ml.export.onnx_wrap import ExportError, column_graph, contract_metadata, wrap_median
from edip_ml.models import base

from ..mlflow_server import ColumnForecaster, synthetic_xy, xgboost_forecaster

OFFSETS = np.array([[-100.0, 10.0], [-200.0, 20.0], [-300.0, 30.0], [-400.0, 40.0]])


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    return synthetic_xy(800, seed=1)


def test_contract_graph_and_metadata(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    forecaster = xgboost_forecaster(n_estimators=30).fit(X, y)
    model = to_onnx(forecaster)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == [base.ONNX_INPUT]
    assert [o.name for o in model.graph.output] == [base.ONNX_OUTPUT]
    in_dims = model.graph.input[0].type.tensor_type.shape.dim
    out_dims = model.graph.output[0].type.tensor_type.shape.dim
    assert in_dims[0].dim_param == "N"
    assert in_dims[1].dim_value == len(forecaster.feature_names)
    assert out_dims[0].dim_param == "N"
    assert out_dims[1].dim_value == 3
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["feature_names"]) == forecaster.feature_names
    assert meta["model_name"] == "xgboost"
    assert meta["quantiles"] == "0.1,0.5,0.9"
    assert json.loads(meta["horizon_groups"]) == list(base.HORIZON_GROUPS)
    assert meta["edip_contract"] == base.CONTRACT_VERSION
    assert len({(o.domain or "") for o in model.opset_import}) == len(model.opset_import)


def test_horizon_groups_gather_the_right_offsets(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    f = ColumnForecaster("load_same_hour_last_week").fit(X, y)
    f.offsets = np.array([[-100.0, 10.0], [-200.0, 20.0], [-300.0, 30.0], [-400.0, 40.0]])
    horizons = [0.5, 12.0, 12.5, 24.0, 24.5, 36.0, 36.5, 48.0, 60.0, np.nan]
    rows = X.iloc[: len(horizons)].copy()
    rows["horizon_h"] = horizons
    out = OnnxForecaster(to_onnx(f)).predict(rows)
    expected = [0, 0, 1, 1, 2, 2, 3, 3, 3, 3]  # base.horizon_group, NaN in the last group
    assert list(base.horizon_group(np.asarray(horizons))) == expected
    np.testing.assert_allclose(
        (out["p10"] - out["p50"]).to_numpy(), f.offsets[expected, 0], atol=1e-3
    )
    np.testing.assert_allclose(
        (out["p90"] - out["p50"]).to_numpy(), f.offsets[expected, 1], atol=1e-3
    )
    native = f.predict(rows)
    np.testing.assert_allclose(out.to_numpy(), native.to_numpy(), atol=0.01)


def test_no_horizon_column_uses_group_zero(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    Xn = X.drop(columns=["horizon_h"])
    f = ColumnForecaster("load_lag_1d").fit(Xn, y)
    f.offsets = np.array([[-100.0, 10.0], [-200.0, 20.0], [-300.0, 30.0], [-400.0, 40.0]])
    assert check_parity(f, to_onnx(f), Xn.iloc[:500]) <= 1.0


def test_wrap_median_refuses_bad_offsets_and_reserved_names() -> None:
    median = column_graph(0, 3)
    with pytest.raises(ExportError, match="offsets must be"):
        wrap_median(median, feature_names=["a", "b", "c"], offsets=np.zeros((2, 2)), model_name="m")
    from onnx import helper

    median.graph.node[0].output[0] = "edip_p50"  # a name the contract nodes add
    median.graph.output[0].name = "edip_p50"
    with pytest.raises(ExportError, match="reserved names"):
        wrap_median(median, feature_names=["a", "b", "c"], offsets=OFFSETS, model_name="m")
    two_inputs = column_graph(0, 3)
    two_inputs.graph.input.append(
        helper.make_tensor_value_info("other", onnx.TensorProto.FLOAT, ["N", 1])
    )
    with pytest.raises(ExportError, match="one input"):
        wrap_median(two_inputs, feature_names=["a", "b", "c"], offsets=OFFSETS, model_name="m")


def test_wrap_median_of_a_column_graph_serves_the_column() -> None:
    model = wrap_median(
        column_graph(1, 3),
        feature_names=["a", "b", "horizon_h"],
        offsets=OFFSETS,
        model_name="col",
        extra_metadata={"note": "x"},
    )
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["note"] == "x"
    assert {k: meta[k] for k in contract_metadata(["a", "b", "horizon_h"], "col", OFFSETS)} == (
        contract_metadata(["a", "b", "horizon_h"], "col", OFFSETS)
    )
    rows = pd.DataFrame({"a": [1.0, 2.0], "b": [50_000.0, 60_000.0], "horizon_h": [12.0, 30.0]})
    out = OnnxForecaster(model).predict(rows)
    np.testing.assert_allclose(out["p50"], rows["b"])
    np.testing.assert_allclose(out["p10"] - out["p50"], [-100.0, -300.0])
