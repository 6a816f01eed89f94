"""Contract graph surgery shared by every family: the median graph wrapped into the contract.

Why its own module: :func:`wrap_median` is the one place that turns a median graph
``features [N, F] -> median`` into the served contract (horizon group, conformal offsets,
``quantiles`` output, metadata), so a new family (the DL package) needs a median graph and
nothing else. The small graph helpers the family converters share (reserved name prefix, opsets,
ratio-to-reference, one-column median) live here too, below :mod:`edip_ml.export.onnx_export`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from edip_pipeline.contract import (
    CONTRACT_VERSION,
    HORIZON_COLUMN,
    HORIZON_GROUPS,
    ONNX_INPUT,
    ONNX_OUTPUT,
    QUANTILES,
)

if TYPE_CHECKING:
    import onnx

#: default-domain opset of exported graphs (the highest onnxmltools' converters accept)
TARGET_OPSET = 15
#: ai.onnx.ml opset (TreeEnsembleRegressor / LinearRegressor / Imputer / Scaler)
TARGET_ML_OPSET = 3
#: prefix of the names the contract nodes add; ``edip_m_`` is left to the median graph's own
PREFIX = "edip_"


class ExportError(RuntimeError):
    """A forecaster cannot be exported to the ONNX contract."""


def wrap_median(
    median: onnx.ModelProto,
    *,
    feature_names: Sequence[str],
    offsets: np.ndarray,
    model_name: str,
    extra_metadata: dict[str, str] | None = None,
) -> onnx.ModelProto:
    """Append the contract to a median graph: horizon group, offsets table, ``quantiles`` output.

    ``median`` must have the single input ``features`` ``[N, F]`` and a single float output with
    one value per row. ``offsets`` is ``[len(HORIZON_GROUPS), 2]`` (P10 - P50, P90 - P50).
    """
    import onnx

    names = list(feature_names)
    offsets = np.asarray(offsets, dtype=float)
    if offsets.shape != (len(HORIZON_GROUPS), 2):
        raise ExportError(f"offsets must be {(len(HORIZON_GROUPS), 2)}, got {offsets.shape}")
    model = onnx.ModelProto()
    model.CopyFrom(median)
    graph = model.graph
    median_out = _check_median_graph(graph)
    # outputs after the median (a GAM's ``effects``) stay outputs: online states apply to them
    extra_outputs = [copy_value_info(o) for o in graph.output[1:]]
    init, nodes = _offsets_nodes(median_out, offsets)
    group_init, group_nodes = _horizon_group_nodes(names)
    init += group_init
    nodes += group_nodes
    _append_quantiles(graph, init, nodes, extra_outputs, len(names), model_name)
    _merge_opsets(model)
    model.producer_name = "edip_ml"
    model.doc_string = f"EDIP day-ahead load forecaster {model_name}: P10/P50/P90 in MW"

    meta = contract_metadata(names, model_name, offsets)
    meta.update(extra_metadata or {})
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, meta)
    onnx.checker.check_model(model, full_check=True)
    return model


def _check_median_graph(graph: Any) -> str:
    """The median output's name; :class:`ExportError` unless one ``features`` input and no name
    the contract nodes reserve."""
    inputs = [i.name for i in graph.input if i.name not in {t.name for t in graph.initializer}]
    if inputs != [ONNX_INPUT] or len(graph.output) < 1:
        raise ExportError(
            f"median graph must map one input {ONNX_INPUT!r} to the median (first output), got "
            f"inputs {inputs} and outputs {[o.name for o in graph.output]}"
        )
    used = {n for node in graph.node for n in (*node.input, *node.output)}
    used |= {t.name for t in graph.initializer}
    clash = sorted(
        n
        for n in used
        if (n.startswith(PREFIX) and not n.startswith(f"{PREFIX}m_")) or n == ONNX_OUTPUT
    )
    if clash:
        raise ExportError(f"median graph already uses reserved names {clash}")
    name: str = graph.output[0].name
    return name


def _offsets_nodes(median_out: str, offsets: np.ndarray) -> tuple[list[Any], list[Any]]:
    """P50 as ``[N, 1]`` and the offsets table ``[G, 3]`` = (off10, 0, off90), so that
    quantiles = p50 + table[group]."""
    from onnx import TensorProto, helper

    table = np.zeros((len(HORIZON_GROUPS), 3), dtype=np.float32)
    table[:, 0] = offsets[:, 0]
    table[:, 2] = offsets[:, 1]
    init = [
        helper.make_tensor(f"{PREFIX}shape_n1", TensorProto.INT64, [2], [-1, 1]),
        helper.make_tensor(
            f"{PREFIX}offsets", TensorProto.FLOAT, list(table.shape), table.ravel().tolist()
        ),
    ]
    nodes = [helper.make_node("Reshape", [median_out, f"{PREFIX}shape_n1"], [f"{PREFIX}p50"])]
    return init, nodes


def _horizon_group_nodes(names: list[str]) -> tuple[list[Any], list[Any]]:
    """``edip_group`` [N] int64: the number of group bounds the ``horizon_h`` column exceeds,
    exactly :func:`~edip_ml.models.base.horizon_group` (group 0 without that column)."""
    from onnx import TensorProto, helper

    if HORIZON_COLUMN not in names:  # every row is in group 0, as in Forecaster.predict
        return _group_zero_nodes()
    group = f"{PREFIX}group"
    init = [
        helper.make_tensor(f"{PREFIX}h_index", TensorProto.INT64, [], [names.index(HORIZON_COLUMN)])
    ]
    nodes = [
        helper.make_node("Gather", [ONNX_INPUT, f"{PREFIX}h_index"], [f"{PREFIX}h"], axis=1),
        # NaN horizons fall in the last group, as np.searchsorted does natively
        helper.make_node("IsNaN", [f"{PREFIX}h"], [f"{PREFIX}h_nan"]),
    ]
    counts: list[str] = []
    for k, bound in enumerate(HORIZON_GROUPS[:-1]):
        init.append(helper.make_tensor(f"{PREFIX}bound{k}", TensorProto.FLOAT, [], [bound]))
        nodes += [
            helper.make_node("Greater", [f"{PREFIX}h", f"{PREFIX}bound{k}"], [f"{PREFIX}gt{k}"]),
            helper.make_node("Or", [f"{PREFIX}gt{k}", f"{PREFIX}h_nan"], [f"{PREFIX}in{k}"]),
            helper.make_node("Cast", [f"{PREFIX}in{k}"], [f"{PREFIX}c{k}"], to=TensorProto.INT64),
        ]
        counts.append(f"{PREFIX}c{k}")
    acc = counts[0]
    for k, c in enumerate(counts[1:], start=1):
        out = group if k == len(counts) - 1 else f"{PREFIX}acc{k}"
        nodes.append(helper.make_node("Add", [acc, c], [out]))
        acc = out
    if len(counts) == 1:
        nodes.append(helper.make_node("Identity", [acc], [group]))
    return init, nodes


def _group_zero_nodes() -> tuple[list[Any], list[Any]]:
    """``edip_group`` = zeros [N] (no horizon column)."""
    from onnx import TensorProto, helper

    init = [
        helper.make_tensor(f"{PREFIX}zero", TensorProto.INT64, [1], [0]),
        helper.make_tensor(f"{PREFIX}one", TensorProto.INT64, [1], [1]),
    ]
    nodes = [
        helper.make_node("Shape", [ONNX_INPUT], [f"{PREFIX}shape"]),
        helper.make_node(
            "Slice",
            [f"{PREFIX}shape", f"{PREFIX}zero", f"{PREFIX}one"],
            [f"{PREFIX}n"],
        ),
        helper.make_node(
            "ConstantOfShape",
            [f"{PREFIX}n"],
            [f"{PREFIX}group"],
            value=helper.make_tensor("value", TensorProto.INT64, [1], [0]),
        ),
    ]
    return init, nodes


def _append_quantiles(
    graph: Any,
    init: list[Any],
    nodes: list[Any],
    extra_outputs: list[Any],
    n_features: int,
    model_name: str,
) -> None:
    """``quantiles = p50 + offsets[group]`` as the first output; input shape ``[N, F]``."""
    from onnx import TensorProto, helper

    nodes += [
        helper.make_node(
            "Gather", [f"{PREFIX}offsets", f"{PREFIX}group"], [f"{PREFIX}row_off"], axis=0
        ),
        helper.make_node("Add", [f"{PREFIX}p50", f"{PREFIX}row_off"], [ONNX_OUTPUT]),
    ]
    graph.node.extend(nodes)
    graph.initializer.extend(init)
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info(ONNX_OUTPUT, TensorProto.FLOAT, ["N", len(QUANTILES)])
    )
    graph.output.extend(extra_outputs)
    # dynamic batch, fixed width: name the batch dim so clients see [N, F]
    shape = graph.input[0].type.tensor_type.shape
    del shape.dim[:]
    shape.dim.add().dim_param = "N"
    shape.dim.add().dim_value = n_features
    graph.name = f"edip_{model_name}"


def _merge_opsets(model: onnx.ModelProto) -> None:
    """One opset per domain (skl2onnx repeats the default domain); the contract needs >= 9."""
    from onnx import helper

    versions: dict[str, int] = {}
    for op in model.opset_import:
        domain = "" if op.domain == "ai.onnx" else op.domain
        versions[domain] = max(versions.get(domain, 0), op.version)
    versions[""] = max(versions.get("", 0), TARGET_OPSET)
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(d, v) for d, v in sorted(versions.items()))


def copy_value_info(value: Any) -> Any:
    """A detached copy of a graph output's ValueInfoProto."""
    import onnx

    out = onnx.ValueInfoProto()
    out.CopyFrom(value)
    return out


def contract_metadata(
    feature_names: Sequence[str], model_name: str, offsets: np.ndarray | None = None
) -> dict[str, str]:
    """The metadata_props every EDIP ONNX model carries (the serving side reads them)."""
    meta = {
        "feature_names": json.dumps(list(feature_names)),
        "model_name": model_name,
        "quantiles": ",".join(f"{q:g}" for q in QUANTILES),
        "horizon_groups": json.dumps(list(HORIZON_GROUPS)),
        "edip_contract": CONTRACT_VERSION,
    }
    if offsets is not None:
        meta["conformal_offsets"] = json.dumps(np.asarray(offsets, dtype=float).tolist())
    return meta


def column_graph(index: int, n_features: int) -> onnx.ModelProto:
    """Baselines: the median is one input column (Gather on axis 1)."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Gather", [ONNX_INPUT, "column_index"], ["column"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "baseline",
        [helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT, ["N", n_features])],
        [helper.make_tensor_value_info("column", TensorProto.FLOAT, ["N", 1])],
        initializer=[helper.make_tensor("column_index", TensorProto.INT64, [1], [index])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", TARGET_OPSET)])


def multiply_by_reference(onx: onnx.ModelProto, indices: Sequence[int]) -> None:
    """``median = estimator_output * r``, r = first non-NaN of the reference columns (in place)."""
    from onnx import TensorProto, helper

    graph = onx.graph
    if len(graph.output) != 1:
        raise ExportError(f"estimator graph has {len(graph.output)} outputs, expected 1")
    p = f"{PREFIX}m_"
    out = graph.output[0].name
    graph.initializer.append(helper.make_tensor(f"{p}shape_n1", TensorProto.INT64, [2], [-1, 1]))
    nodes = [helper.make_node("Reshape", [out, f"{p}shape_n1"], [f"{p}ratio"])]
    current = ""
    for k, idx in enumerate(indices):
        graph.initializer.append(
            helper.make_tensor(f"{p}ref_idx{k}", TensorProto.INT64, [1], [idx])
        )
        col = f"{p}ref_col{k}"
        nodes.append(helper.make_node("Gather", [ONNX_INPUT, f"{p}ref_idx{k}"], [col], axis=1))
        if k == 0:
            current = col
            continue
        nodes += [
            helper.make_node("IsNaN", [current], [f"{p}ref_nan{k}"]),
            helper.make_node("Where", [f"{p}ref_nan{k}", col, current], [f"{p}ref{k}"]),
        ]
        current = f"{p}ref{k}"
    nodes.append(helper.make_node("Mul", [f"{p}ratio", current], [f"{p}median"]))
    graph.node.extend(nodes)
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(f"{p}median", TensorProto.FLOAT, ["N", 1]))
    # Where (opset 9) and IsNaN (9) need a recent default domain: make sure one is imported
    if not any(op.domain in ("", "ai.onnx") for op in onx.opset_import):
        onx.opset_import.append(helper.make_opsetid("", TARGET_OPSET))
