"""Boosting median graphs: XGBoost and LightGBM parity, LightGBM thresholds exact in float32."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from edip_ml.export.onnx_boosting import boosting_graph, round_lightgbm_thresholds


def _run(model: onnx.ModelProto, X: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = session.run(None, {"features": X.astype(np.float32)})[0]
    return np.asarray(out, dtype=float).ravel()


def _xy(n: int = 1500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # values with many digits: float32(threshold) often rounds above the double threshold
    X = rng.normal(0, 1, (n, 4)) * np.array([1.0, 1e3, 1e-2, 7.3])
    y = X[:, 0] * 10 + np.sin(X[:, 1] / 500) * 30 + X[:, 3] + rng.normal(0, 0.5, n)
    return X, y


def _thresholds(dump: dict) -> list[tuple[int, float]]:  # type: ignore[type-arg]
    out: list[tuple[int, float]] = []
    stack = [t["tree_structure"] for t in dump["tree_info"]]
    while stack:
        node = stack.pop()
        if "left_child" in node:
            out.append((int(node["split_feature"]), float(node["threshold"])))
            stack += [node["left_child"], node["right_child"]]
    return out


def test_lightgbm_rows_on_the_thresholds_take_the_native_branch() -> None:
    lgb = pytest.importorskip("lightgbm")
    X, y = _xy()
    model = lgb.LGBMRegressor(n_estimators=60, num_leaves=15, n_jobs=1, random_state=0, verbose=-1)
    model.fit(X, y)
    onx = boosting_graph("lightgbm", model, X.shape[1])
    # rows whose value is the float32 nearest each threshold: where an unrounded export errs
    rows = np.repeat(X[:1], 300, axis=0)
    for i, (feature, threshold) in enumerate(_thresholds(model.booster_.dump_model())[:300]):
        rows[i, feature] = np.float32(threshold)
    rows = rows.astype(np.float32).astype(float)
    np.testing.assert_allclose(_run(onx, rows), model.predict(rows), atol=1e-3)


def test_threshold_rounding_changes_nothing_on_a_mismatched_dump() -> None:
    lgb = pytest.importorskip("lightgbm")
    from onnxmltools.convert import convert_lightgbm
    from skl2onnx.common.data_types import FloatTensorType

    X, y = _xy(400)
    model = lgb.LGBMRegressor(n_estimators=5, n_jobs=1, random_state=0, verbose=-1).fit(X, y)
    onx = convert_lightgbm(
        model, initial_types=[("features", FloatTensorType([None, 4]))], zipmap=False
    )
    before = onx.SerializeToString()
    assert round_lightgbm_thresholds(onx, {"tree_info": []}) == 0
    assert onx.SerializeToString() == before
    assert round_lightgbm_thresholds(onx, model.booster_.dump_model()) > 0


def test_xgboost_parity() -> None:
    xgb = pytest.importorskip("xgboost")
    X, y = _xy(800)
    model = xgb.XGBRegressor(n_estimators=40, max_depth=4, n_jobs=1, random_state=0).fit(X, y)
    onx = boosting_graph("xgboost", model, X.shape[1])
    rows = X.astype(np.float32).astype(float)
    np.testing.assert_allclose(_run(onx, rows), model.predict(rows), atol=1e-3)
