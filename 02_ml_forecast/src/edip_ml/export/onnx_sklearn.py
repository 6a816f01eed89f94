"""Median graphs of sklearn estimators and pipelines via skl2onnx.

Why its own module: sklearn's imputer silently drops columns that were entirely NaN at fit time
and skl2onnx then rejects the pipeline; working around it is sklearn-specific graph surgery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from edip_ml.export.onnx_wrap import PREFIX, TARGET_ML_OPSET, TARGET_OPSET
from edip_pipeline.contract import ONNX_INPUT

if TYPE_CHECKING:
    import onnx


def sklearn_graph(model: Any, n_features: int) -> onnx.ModelProto:
    """skl2onnx conversion, tolerating a leading SimpleImputer that dropped all-NaN columns.

    sklearn's imputer silently drops columns that were entirely NaN at fit time (a feature group
    without data, e.g. weather on the sample) and skl2onnx then rejects the pipeline. The graph
    selects the kept columns first (Gather) and converts the pipeline with the imputer restricted
    to them, which is exactly what sklearn computes.
    """
    from onnx import TensorProto, helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    opset = {"": TARGET_OPSET, "ai.onnx.ml": TARGET_ML_OPSET}
    kept, model = _restrict_imputer(model)
    if kept is None:
        onx: onnx.ModelProto = convert_sklearn(
            model,
            initial_types=[(ONNX_INPUT, FloatTensorType([None, n_features]))],
            target_opset=opset,
        )
        return onx
    inner_input = f"{PREFIX}m_kept_features"
    onx = convert_sklearn(
        model, initial_types=[(inner_input, FloatTensorType([None, len(kept)]))], target_opset=opset
    )
    graph = onx.graph
    graph.initializer.append(
        helper.make_tensor(f"{PREFIX}m_kept_index", TensorProto.INT64, [len(kept)], kept.tolist())
    )
    graph.node.insert(
        0,
        helper.make_node("Gather", [ONNX_INPUT, f"{PREFIX}m_kept_index"], [inner_input], axis=1),
    )
    del graph.input[:]
    graph.input.append(
        helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT, ["N", n_features])
    )
    return onx


def _restrict_imputer(model: Any) -> tuple[np.ndarray | None, Any]:
    """(kept column indices, a copy of the pipeline whose imputer sees only them), or
    ``(None, model)`` when its first step dropped no column."""
    import copy

    steps = getattr(model, "steps", None)
    if not steps:
        return None, model
    first = steps[0][1]
    stats = getattr(first, "statistics_", None)
    if not (
        type(first).__name__ == "SimpleImputer"
        and stats is not None
        and not getattr(first, "keep_empty_features", False)
        and np.issubdtype(np.asarray(stats).dtype, np.floating)
        and np.isnan(stats).any()
    ):
        return None, model
    kept = np.flatnonzero(~np.isnan(np.asarray(stats, dtype=float)))
    imputer = copy.deepcopy(first)
    imputer.statistics_ = np.asarray(stats)[kept]
    imputer.n_features_in_ = len(kept)
    if hasattr(imputer, "feature_names_in_"):
        imputer.feature_names_in_ = imputer.feature_names_in_[kept]
    model = copy.copy(model)
    model.steps = [(steps[0][0], imputer), *steps[1:]]
    return kept, model
