"""Median graphs of the gradient-boosting families (XGBoost, LightGBM) via onnxmltools.

Why its own module: LightGBM needs a post-conversion fix (:func:`round_lightgbm_thresholds`) that
walks the ONNX trees alongside the booster dump; the sklearn path (:mod:`edip_ml.export.onnx_sklearn`)
and the contract wrapping (:mod:`edip_ml.export.onnx_wrap`) do not care.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from edip_ml.export.onnx_wrap import TARGET_OPSET
from edip_pipeline.contract import ONNX_INPUT

if TYPE_CHECKING:
    import onnx


def boosting_graph(family: str, model: Any, n_features: int) -> onnx.ModelProto:
    """``features [N, F] -> estimator output`` for a fitted ``xgboost`` or ``lightgbm`` model."""
    from skl2onnx.common.data_types import FloatTensorType

    initial_types = [(ONNX_INPUT, FloatTensorType([None, n_features]))]
    if family == "xgboost":
        from onnxmltools.convert import convert_xgboost

        onx: onnx.ModelProto = convert_xgboost(
            model, initial_types=initial_types, target_opset=TARGET_OPSET
        )
        return onx
    from onnxmltools.convert import convert_lightgbm

    onx = convert_lightgbm(
        model, initial_types=initial_types, target_opset=TARGET_OPSET, zipmap=False
    )
    round_lightgbm_thresholds(onx, model.booster_.dump_model())
    return onx


def round_lightgbm_thresholds(onx: onnx.ModelProto, dump: dict[str, Any]) -> int:
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
    table = _TreeTable(node)
    roots = table.roots()
    if len(roots) != len(trees):
        return 0
    new_values = table.values.copy()
    for root, tree in zip(roots, trees, strict=True):
        if not table.exact_thresholds(root, tree["tree_structure"], new_values):
            return 0
    changed = int(np.sum(new_values != table.values))
    idx = next(i for i, a in enumerate(node.attribute) if a.name == "nodes_values")
    node.attribute[idx].CopyFrom(helper.make_attribute("nodes_values", new_values.tolist()))
    return changed


class _TreeTable:
    """The node arrays of one ONNX ``TreeEnsembleRegressor``, indexed by (tree id, node id)."""

    def __init__(self, node: Any) -> None:
        attrs = {a.name: a for a in node.attribute}
        self.tree_ids = list(attrs["nodes_treeids"].ints)
        self.node_ids = list(attrs["nodes_nodeids"].ints)
        self.modes = [m.decode() for m in attrs["nodes_modes"].strings]
        self.features = list(attrs["nodes_featureids"].ints)
        self.true_ids = list(attrs["nodes_truenodeids"].ints)
        self.false_ids = list(attrs["nodes_falsenodeids"].ints)
        self.values = np.asarray(attrs["nodes_values"].floats, dtype=np.float32)
        self.position = {
            (t, n): i for i, (t, n) in enumerate(zip(self.tree_ids, self.node_ids, strict=True))
        }

    def roots(self) -> list[tuple[int, int]]:
        """(tree id, node id) of every tree's root (a node no split points to), sorted."""
        children = {
            (self.tree_ids[i], c)
            for i in range(len(self.modes))
            if self.modes[i] != "LEAF"
            for c in (self.true_ids[i], self.false_ids[i])
        }
        return sorted({(t, n) for t, n in self.position if (t, n) not in children})

    def exact_thresholds(
        self, root: tuple[int, int], structure: dict[str, Any], new_values: np.ndarray
    ) -> bool:
        """Write into ``new_values`` the largest float32 ``<=`` each double threshold of the tree
        at ``root``; False (stop, change nothing) when the tree does not match the dump."""
        tid = root[0]
        modes, values = self.modes, self.values
        stack = [(self.position[root], structure)]
        while stack:
            pos, dnode = stack.pop()
            is_split = "left_child" in dnode and "right_child" in dnode
            if is_split != (modes[pos] != "LEAF"):
                return False
            if not is_split:
                continue
            threshold = float(dnode["threshold"])
            v32 = np.float32(threshold)
            if (
                modes[pos] != "BRANCH_LEQ"
                or dnode.get("decision_type") != "<="
                or self.features[pos] != int(dnode["split_feature"])
                or v32 != values[pos]
            ):
                return False
            if float(v32) > threshold:
                v32 = np.nextafter(v32, np.float32(-np.inf))
            new_values[pos] = v32
            stack.append((self.position[(tid, self.true_ids[pos])], dnode["left_child"]))
            stack.append((self.position[(tid, self.false_ids[pos])], dnode["right_child"]))
        return True
