"""ONNX export of every forecaster family, parity checking, and onnxruntime-only inference.

Why: the API serves whatever the registry's champion is without importing a training library, so
every family (sklearn pipelines, XGBoost, LightGBM, baselines) is exported to one graph that
implements the contract of :mod:`edip_ml.models.base`:

* input ``features`` float32 ``[N, F]`` (NaN allowed), in the order of ``feature_names``;
* output ``quantiles`` float32 ``[N, 3]`` = P50 + offset10, P50, P50 + offset90, where the
  conformal offsets are gathered per row from the horizon group of the ``horizon_h`` column
  (number of group bounds the horizon exceeds, exactly :func:`~edip_ml.models.base.horizon_group`);
* metadata ``feature_names`` (JSON), ``model_name``, ``quantiles``, ``horizon_groups``,
  ``edip_contract``.

The family-specific converter only produces the median graph; :func:`wrap_median` appends the
contract nodes, so a new family (the DL package) needs a median graph and nothing else.

The contract and its onnxruntime runner (:class:`OnnxForecaster`) live in
:mod:`edip_pipeline.contract`, shared with the API, which must not import this package.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from edip_pipeline.contract import (
    CONTRACT_VERSION,
    FEATURE_PARAMS_KEY,
    HORIZON_COLUMN,
    HORIZON_GROUPS,
    ONLINE_STATE_KEY,
    ONNX_INPUT,
    ONNX_OUTPUT,
    QUANTILE_COLUMNS,
    QUANTILES,
    FeatureContractError,  # noqa: F401  (re-exported)
    OnnxForecaster,  # re-exported too
)

if TYPE_CHECKING:
    import onnx

    from edip_ml.models.base import Forecaster

log = logging.getLogger(__name__)


#: default-domain opset of exported graphs (the highest onnxmltools' converters accept)
TARGET_OPSET = 15
#: ai.onnx.ml opset (TreeEnsembleRegressor / LinearRegressor / Imputer / Scaler)
TARGET_ML_OPSET = 3
#: parity tolerance between the native model and its ONNX export, MW
PARITY_TOLERANCE_MW = 1.0
#: columns that baselines return as their median, by model name (fallback when the forecaster
#: does not expose a ``column`` attribute)
BASELINE_COLUMNS: dict[str, str] = {
    "same_hour_last_week": "load_same_hour_last_week",
    "same_hour_yesterday": "load_lag_1d",
}
_PREFIX = "edip_"


class ExportError(RuntimeError):
    """A forecaster cannot be exported to the ONNX contract."""


class ParityError(RuntimeError):
    """The ONNX export does not reproduce the native model within tolerance: never register it."""

    def __init__(self, message: str, max_abs_diff: float) -> None:
        super().__init__(message)
        self.max_abs_diff = max_abs_diff


# ---------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------
def to_onnx(forecaster: Forecaster) -> onnx.ModelProto:
    """The fitted ``forecaster`` as one contract ONNX graph (median graph + conformal offsets)."""
    names = list(forecaster.feature_names)
    if not names:
        raise ExportError(f"{forecaster.name}: not fitted (no feature_names)")
    own = getattr(forecaster, "export_onnx", None)
    if callable(own):  # a family with its own exporter (edip_dl: torch.onnx) returns the contract
        model: onnx.ModelProto = own()
        return model
    median = median_graph(forecaster)
    extra = feature_params_metadata(forecaster)
    state = getattr(forecaster, "state", None)
    if state is not None and hasattr(state, "to_dict"):  # online (Kalman) models carry their state
        extra[ONLINE_STATE_KEY] = json.dumps(state.to_dict())
    return wrap_median(
        median,
        feature_names=names,
        offsets=np.asarray(forecaster.offsets, dtype=float),
        model_name=forecaster.name,
        extra_metadata=extra,
    )


def feature_params_metadata(forecaster: Forecaster) -> dict[str, str]:
    """``{"feature_params": JSON}`` when the forecaster knows the FeatureParams it was fitted on."""
    fparams = getattr(forecaster, "feature_params", None)
    return {FEATURE_PARAMS_KEY: json.dumps(fparams, sort_keys=True)} if fparams else {}


def native_estimator(forecaster: Forecaster) -> Any | None:
    """The fitted estimator inside a forecaster (``estimator``, or ``model``), if any."""
    for attr in ("estimator", "model"):
        est = getattr(forecaster, attr, None)
        if est is not None:
            return est
    return None


def model_family(forecaster: Forecaster) -> str:
    """``sklearn``, ``xgboost``, ``lightgbm`` or ``baseline`` (a column as the median); a
    plugin family names itself with a ``family`` class attribute (e.g. ``torch``)."""
    own = getattr(forecaster, "family", None)
    if isinstance(own, str):
        return own
    model = native_estimator(forecaster)
    if model is None:
        if _baseline_column(forecaster) is not None:
            return "baseline"
        raise ExportError(f"{forecaster.name}: no fitted estimator to export (not fitted?)")
    module = type(model).__module__
    # dispatch on the module name: importing xgboost/lightgbm just to isinstance-check is wasteful
    if module.startswith("xgboost"):
        return "xgboost"
    if module.startswith("lightgbm"):
        return "lightgbm"
    if module.startswith("sklearn"):
        return "sklearn"
    raise ExportError(f"{forecaster.name}: no ONNX converter for {type(model).__qualname__}")


def _baseline_column(forecaster: Forecaster) -> str | None:
    column = getattr(forecaster, "column", None)
    if isinstance(column, str):
        return column
    return BASELINE_COLUMNS.get(forecaster.name)


def median_graph(forecaster: Forecaster) -> onnx.ModelProto:
    """The graph ``features [N, F] -> median [N, 1]`` (one output) of a fitted forecaster.

    The family converter produces the estimator's output; forecasters that learn a ratio to a
    reference load (``reference_features``, see :mod:`edip_ml.models.linear`) get it multiplied
    back by the first non-NaN reference column, exactly as their native ``_predict_median``.
    """
    family = model_family(forecaster)
    names = list(forecaster.feature_names)
    n_features = len(names)
    if family == "gam":
        from edip_ml.models.gam_onnx import gam_graph

        state = getattr(forecaster, "state", None)
        return gam_graph(forecaster, None if state is None else state.theta)  # type: ignore[arg-type]
    if family == "baseline":
        column = _baseline_column(forecaster)
        if column not in names:
            raise ExportError(f"{forecaster.name}: baseline column {column!r} not in its features")
        return _column_graph(names.index(column), n_features)

    from skl2onnx.common.data_types import FloatTensorType

    initial_types = [(ONNX_INPUT, FloatTensorType([None, n_features]))]
    model: Any = native_estimator(forecaster)
    if family == "sklearn":
        onx = _sklearn_graph(model, n_features)
    elif family == "xgboost":
        from onnxmltools.convert import convert_xgboost

        onx = convert_xgboost(model, initial_types=initial_types, target_opset=TARGET_OPSET)
    else:
        from onnxmltools.convert import convert_lightgbm

        onx = convert_lightgbm(
            model, initial_types=initial_types, target_opset=TARGET_OPSET, zipmap=False
        )
        _round_lightgbm_thresholds(onx, model.booster_.dump_model())
    reference = [c for c in getattr(forecaster, "reference_features", None) or [] if c in names]
    if getattr(forecaster, "reference_features", None) and not reference:
        raise ExportError(f"{forecaster.name}: none of its reference features is among its inputs")
    if reference:
        _multiply_by_reference(onx, [names.index(c) for c in reference])
    return onx


def _multiply_by_reference(onx: onnx.ModelProto, indices: Sequence[int]) -> None:
    """``median = estimator_output * r``, r = first non-NaN of the reference columns (in place)."""
    from onnx import TensorProto, helper

    graph = onx.graph
    if len(graph.output) != 1:
        raise ExportError(f"estimator graph has {len(graph.output)} outputs, expected 1")
    p = f"{_PREFIX}m_"
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


def _sklearn_graph(model: Any, n_features: int) -> onnx.ModelProto:
    """skl2onnx conversion, tolerating a leading SimpleImputer that dropped all-NaN columns.

    sklearn's imputer silently drops columns that were entirely NaN at fit time (a feature group
    without data, e.g. weather on the sample) and skl2onnx then rejects the pipeline. The graph
    selects the kept columns first (Gather) and converts the pipeline with the imputer restricted
    to them, which is exactly what sklearn computes.
    """
    import copy

    from onnx import TensorProto, helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    opset = {"": TARGET_OPSET, "ai.onnx.ml": TARGET_ML_OPSET}
    kept: np.ndarray | None = None
    steps = getattr(model, "steps", None)
    if steps:
        first = steps[0][1]
        stats = getattr(first, "statistics_", None)
        if (
            type(first).__name__ == "SimpleImputer"
            and stats is not None
            and not getattr(first, "keep_empty_features", False)
            and np.issubdtype(np.asarray(stats).dtype, np.floating)
            and np.isnan(stats).any()
        ):
            kept = np.flatnonzero(~np.isnan(np.asarray(stats, dtype=float)))
            imputer = copy.deepcopy(first)
            imputer.statistics_ = np.asarray(stats)[kept]
            imputer.n_features_in_ = len(kept)
            if hasattr(imputer, "feature_names_in_"):
                imputer.feature_names_in_ = imputer.feature_names_in_[kept]
            model = copy.copy(model)
            model.steps = [(steps[0][0], imputer), *steps[1:]]
    if kept is None:
        return convert_sklearn(
            model,
            initial_types=[(ONNX_INPUT, FloatTensorType([None, n_features]))],
            target_opset=opset,
        )
    inner_input = f"{_PREFIX}m_kept_features"
    onx = convert_sklearn(
        model, initial_types=[(inner_input, FloatTensorType([None, len(kept)]))], target_opset=opset
    )
    graph = onx.graph
    graph.initializer.append(
        helper.make_tensor(f"{_PREFIX}m_kept_index", TensorProto.INT64, [len(kept)], kept.tolist())
    )
    graph.node.insert(
        0,
        helper.make_node("Gather", [ONNX_INPUT, f"{_PREFIX}m_kept_index"], [inner_input], axis=1),
    )
    del graph.input[:]
    graph.input.append(
        helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT, ["N", n_features])
    )
    return onx


def _round_lightgbm_thresholds(onx: onnx.ModelProto, dump: dict[str, Any]) -> int:
    """Make LightGBM's double thresholds exact for float32 inputs.

    LightGBM compares ``float(x) <= t`` in double; onnxmltools stores ``float32(t)``, which rounds
    up half the time, so a row whose value equals that rounded threshold takes the other branch
    (tens of MW off). The largest float32 ``<= t`` gives the same decision for every float32 ``x``.
    Each ONNX tree is walked alongside the booster dump (true branch = left child); on any
    mismatch nothing is changed (the parity check stays the judge). Returns thresholds changed.
    """
    from onnx import helper

    ensembles = [n for n in onx.graph.node if n.op_type == "TreeEnsembleRegressor"]
    trees = dump.get("tree_info", [])
    if len(ensembles) != 1:
        return 0
    node = ensembles[0]
    attrs = {a.name: a for a in node.attribute}
    tree_ids = list(attrs["nodes_treeids"].ints)
    node_ids = list(attrs["nodes_nodeids"].ints)
    modes = [m.decode() for m in attrs["nodes_modes"].strings]
    features = list(attrs["nodes_featureids"].ints)
    true_ids = list(attrs["nodes_truenodeids"].ints)
    false_ids = list(attrs["nodes_falsenodeids"].ints)
    values = np.asarray(attrs["nodes_values"].floats, dtype=np.float32)
    position = {(t, n): i for i, (t, n) in enumerate(zip(tree_ids, node_ids, strict=True))}
    children = {
        (tree_ids[i], c)
        for i in range(len(modes))
        if modes[i] != "LEAF"
        for c in (true_ids[i], false_ids[i])
    }
    roots = sorted({(t, n) for t, n in position if (t, n) not in children})
    if len(roots) != len(trees):
        return 0
    new_values = values.copy()
    for (tid, nid), tree in zip(roots, trees, strict=True):
        stack = [(position[(tid, nid)], tree["tree_structure"])]
        while stack:
            pos, dnode = stack.pop()
            is_split = "left_child" in dnode and "right_child" in dnode
            if is_split != (modes[pos] != "LEAF"):
                return 0
            if not is_split:
                continue
            threshold = float(dnode["threshold"])
            v32 = np.float32(threshold)
            if (
                modes[pos] != "BRANCH_LEQ"
                or dnode.get("decision_type") != "<="
                or features[pos] != int(dnode["split_feature"])
                or v32 != values[pos]
            ):
                return 0
            if float(v32) > threshold:
                v32 = np.nextafter(v32, np.float32(-np.inf))
            new_values[pos] = v32
            stack.append((position[(tid, true_ids[pos])], dnode["left_child"]))
            stack.append((position[(tid, false_ids[pos])], dnode["right_child"]))
    changed = int(np.sum(new_values != values))
    idx = next(i for i, a in enumerate(node.attribute) if a.name == "nodes_values")
    node.attribute[idx].CopyFrom(helper.make_attribute("nodes_values", new_values.tolist()))
    return changed


def _column_graph(index: int, n_features: int) -> onnx.ModelProto:
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
    from onnx import TensorProto, helper

    names = list(feature_names)
    offsets = np.asarray(offsets, dtype=float)
    if offsets.shape != (len(HORIZON_GROUPS), 2):
        raise ExportError(f"offsets must be {(len(HORIZON_GROUPS), 2)}, got {offsets.shape}")
    model = onnx.ModelProto()
    model.CopyFrom(median)
    graph = model.graph
    inputs = [i.name for i in graph.input if i.name not in {t.name for t in graph.initializer}]
    if inputs != [ONNX_INPUT] or len(graph.output) < 1:
        raise ExportError(
            f"median graph must map one input {ONNX_INPUT!r} to the median (first output), got "
            f"inputs {inputs} and outputs {[o.name for o in graph.output]}"
        )
    # outputs after the median (a GAM's ``effects``) stay outputs: online states apply to them
    extra_outputs = [copy_value_info(o) for o in graph.output[1:]]
    used = {n for node in graph.node for n in (*node.input, *node.output)}
    used |= {t.name for t in graph.initializer}
    clash = sorted(
        n
        for n in used
        if (n.startswith(_PREFIX) and not n.startswith(f"{_PREFIX}m_")) or n == ONNX_OUTPUT
    )
    if clash:
        raise ExportError(f"median graph already uses reserved names {clash}")
    median_out = graph.output[0].name

    # offsets table [G, 3]: (off10, 0, off90) so that quantiles = p50 + table[group]
    table = np.zeros((len(HORIZON_GROUPS), 3), dtype=np.float32)
    table[:, 0] = offsets[:, 0]
    table[:, 2] = offsets[:, 1]
    init = [
        helper.make_tensor(f"{_PREFIX}shape_n1", TensorProto.INT64, [2], [-1, 1]),
        helper.make_tensor(
            f"{_PREFIX}offsets", TensorProto.FLOAT, list(table.shape), table.ravel().tolist()
        ),
    ]
    nodes = [helper.make_node("Reshape", [median_out, f"{_PREFIX}shape_n1"], [f"{_PREFIX}p50"])]
    group = f"{_PREFIX}group"
    if HORIZON_COLUMN in names:
        init.append(
            helper.make_tensor(
                f"{_PREFIX}h_index", TensorProto.INT64, [], [names.index(HORIZON_COLUMN)]
            )
        )
        nodes += [
            helper.make_node("Gather", [ONNX_INPUT, f"{_PREFIX}h_index"], [f"{_PREFIX}h"], axis=1),
            # NaN horizons fall in the last group, as np.searchsorted does natively
            helper.make_node("IsNaN", [f"{_PREFIX}h"], [f"{_PREFIX}h_nan"]),
        ]
        counts: list[str] = []
        for k, bound in enumerate(HORIZON_GROUPS[:-1]):
            init.append(helper.make_tensor(f"{_PREFIX}bound{k}", TensorProto.FLOAT, [], [bound]))
            nodes += [
                helper.make_node(
                    "Greater", [f"{_PREFIX}h", f"{_PREFIX}bound{k}"], [f"{_PREFIX}gt{k}"]
                ),
                helper.make_node("Or", [f"{_PREFIX}gt{k}", f"{_PREFIX}h_nan"], [f"{_PREFIX}in{k}"]),
                helper.make_node(
                    "Cast", [f"{_PREFIX}in{k}"], [f"{_PREFIX}c{k}"], to=TensorProto.INT64
                ),
            ]
            counts.append(f"{_PREFIX}c{k}")
        acc = counts[0]
        for k, c in enumerate(counts[1:], start=1):
            out = group if k == len(counts) - 1 else f"{_PREFIX}acc{k}"
            nodes.append(helper.make_node("Add", [acc, c], [out]))
            acc = out
        if len(counts) == 1:
            nodes.append(helper.make_node("Identity", [acc], [group]))
    else:  # no horizon column: every row is in group 0, as in Forecaster.predict
        init += [
            helper.make_tensor(f"{_PREFIX}zero", TensorProto.INT64, [1], [0]),
            helper.make_tensor(f"{_PREFIX}one", TensorProto.INT64, [1], [1]),
        ]
        nodes += [
            helper.make_node("Shape", [ONNX_INPUT], [f"{_PREFIX}shape"]),
            helper.make_node(
                "Slice",
                [f"{_PREFIX}shape", f"{_PREFIX}zero", f"{_PREFIX}one"],
                [f"{_PREFIX}n"],
            ),
            helper.make_node(
                "ConstantOfShape",
                [f"{_PREFIX}n"],
                [group],
                value=helper.make_tensor("value", TensorProto.INT64, [1], [0]),
            ),
        ]
    nodes += [
        helper.make_node("Gather", [f"{_PREFIX}offsets", group], [f"{_PREFIX}row_off"], axis=0),
        helper.make_node("Add", [f"{_PREFIX}p50", f"{_PREFIX}row_off"], [ONNX_OUTPUT]),
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
    shape.dim.add().dim_value = len(names)
    graph.name = f"edip_{model_name}"

    # one opset per domain (skl2onnx repeats the default domain); the contract needs >= 9
    versions: dict[str, int] = {}
    for op in model.opset_import:
        domain = "" if op.domain == "ai.onnx" else op.domain
        versions[domain] = max(versions.get(domain, 0), op.version)
    versions[""] = max(versions.get("", 0), TARGET_OPSET)
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(d, v) for d, v in sorted(versions.items()))
    model.producer_name = "edip_ml"
    model.doc_string = f"EDIP day-ahead load forecaster {model_name}: P10/P50/P90 in MW"

    meta = contract_metadata(names, model_name, offsets)
    meta.update(extra_metadata or {})
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, meta)
    onnx.checker.check_model(model, full_check=True)
    return model


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


def save_onnx(model: onnx.ModelProto, path: Path | str) -> Path:
    """Write ``model`` as one self-contained file (no external data: the API loads one file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(model.SerializeToString())
    return target


# ---------------------------------------------------------------------------------------------
# parity
# ---------------------------------------------------------------------------------------------
def parity_delta(forecaster: Forecaster, onnx_model: Any, X: pd.DataFrame) -> float:
    """Max |native - ONNX| over P10, P50 and P90 (MW); a NaN on one side only counts as inf."""
    native = forecaster.predict(X)[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    exported = OnnxForecaster(onnx_model).predict(X)[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    if native.shape != exported.shape:
        return float("inf")
    nan_native, nan_onnx = np.isnan(native), np.isnan(exported)
    if np.any(nan_native != nan_onnx):
        return float("inf")
    ok = ~nan_native
    return float(np.max(np.abs(native[ok] - exported[ok]))) if ok.any() else 0.0


def check_parity(
    forecaster: Forecaster,
    onnx_model: Any,
    X: pd.DataFrame,
    tolerance: float = PARITY_TOLERANCE_MW,
) -> float:
    """Max |Δ| (MW) between native and ONNX quantiles on ``X``; :class:`ParityError` above tolerance."""
    if not len(X):
        raise ParityError(f"{forecaster.name}: no rows to check parity on", float("nan"))
    delta = parity_delta(forecaster, onnx_model, X)
    if not delta <= tolerance:
        raise ParityError(
            f"{forecaster.name}: ONNX export differs from the native model by {delta:.4g} MW "
            f"(> {tolerance:g} MW) over {len(X)} rows",
            delta,
        )
    log.info("%s: ONNX parity %.4g MW over %d rows", forecaster.name, delta, len(X))
    return delta
