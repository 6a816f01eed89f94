"""sklearn median graphs: plain pipelines and imputers that dropped all-NaN columns."""

from __future__ import annotations

import numpy as np
import onnx
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from edip_ml.export.onnx_sklearn import _restrict_imputer, sklearn_graph


def _run(model: onnx.ModelProto, X: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = session.run(None, {"features": X.astype(np.float32)})[0]
    return np.asarray(out, dtype=float).ravel()


def _xy(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (n, 4))
    y = X @ np.array([3.0, -2.0, 0.0, 1.0]) + 5
    X[rng.random(n) < 0.1, 0] = np.nan
    X[:, 2] = np.nan  # a feature group without data: the imputer drops it
    return X, y


def test_dropping_imputer_selects_the_kept_columns() -> None:
    X, y = _xy()
    pipe = Pipeline([("impute", SimpleImputer()), ("ridge", Ridge())]).fit(X, y)
    kept, restricted = _restrict_imputer(pipe)
    assert kept is not None
    assert list(kept) == [0, 1, 3]
    assert restricted is not pipe
    assert pipe.steps[0][1].statistics_.shape == (4,)
    onx = sklearn_graph(pipe, X.shape[1])
    assert [i.name for i in onx.graph.input] == ["features"]
    np.testing.assert_allclose(_run(onx, X), pipe.predict(X), atol=1e-3)


def test_plain_pipeline_converts_as_is() -> None:
    X, y = _xy()
    X[:, 2] = 1.0
    pipe = Pipeline([("impute", SimpleImputer()), ("ridge", Ridge())]).fit(X, y)
    kept, same = _restrict_imputer(pipe)
    assert kept is None
    assert same is pipe
    np.testing.assert_allclose(_run(sklearn_graph(pipe, 4), X), pipe.predict(X), atol=1e-3)
