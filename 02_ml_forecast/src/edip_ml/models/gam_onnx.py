"""The GAM's median graph in plain ONNX operators (no converter library needed).

``features [N, F] -> median [N, 1]`` plus a second output ``effects [N, J]`` (one column per
effect of :data:`edip_ml.models.gam_terms.EFFECTS`), exactly the arithmetic of
:meth:`GAMForecaster.effects` in float32: Gather the inputs, Relu hinges, day-type one-hot,
Fourier recurrences, per-hour coefficient rows (Gather by ``hour``), the no-temperature fallback
(Where), then ``effects @ θ`` (θ = ones for the GAM, the Kalman state for ``gam_kalman``). The
serving side re-applies an updated θ to ``effects`` with numpy (:mod:`edip_pipeline.contract`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from edip_ml.models.gam_terms import CALENDAR_FLAGS, EFFECTS, LAGS
from edip_pipeline.contract import EFFECTS_OUTPUT, ONNX_INPUT

if TYPE_CHECKING:
    import onnx

    from edip_ml.config import GAMParams


class GAMForecaster(Protocol):
    """What the graph reads of a fitted :class:`edip_ml.models.gam.GAMForecaster` (a protocol:
    the model calls this module to export itself, so this module does not import it back)."""

    feature_names: list[str]
    config: GAMParams
    knots: dict[str, list[float]]
    coef: np.ndarray
    coef_fallback: np.ndarray
    groups: list[int]
    uses_temperature: bool


#: default-domain opset of the graph
OPSET = 15


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.init: list[Any] = []
        self.n = 0

    def const(self, value: Any, dtype: Any = np.float32) -> str:
        from onnx import numpy_helper

        self.n += 1
        name = f"gam_c{self.n}"
        self.init.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, kind: str, inputs: list[str], **attrs: Any) -> str:
        from onnx import helper

        self.n += 1
        out = f"gam_t{self.n}"
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def column(self, index: int) -> str:
        return self.op("Gather", [ONNX_INPUT, self.const([index], np.int64)], axis=1)


def gam_graph(model: GAMForecaster, theta: np.ndarray | None = None) -> onnx.ModelProto:
    """The fitted GAM (or GAM + Kalman with ``theta``) as ``features -> median, effects``."""
    from onnx import TensorProto, helper

    names = model.feature_names
    b = _Builder()
    col = {c: b.column(names.index(c)) for c in names}
    basis, n_temp_cols = _basis(b, model, col)
    rows, level, basis = _hour_coefficients(b, model, col, basis, n_temp_cols)
    effects = _effects(b, model, rows, level, basis)
    b.nodes.append(helper.make_node("Identity", [effects], [EFFECTS_OUTPUT]))
    th = np.ones(len(EFFECTS)) if theta is None else np.asarray(theta, dtype=float)
    median = b.op("MatMul", [EFFECTS_OUTPUT, b.const(th.reshape(-1, 1))])
    graph = helper.make_graph(
        b.nodes,
        "gam",
        [helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT, ["N", len(names)])],
        [
            helper.make_tensor_value_info(median, TensorProto.FLOAT, ["N", 1]),
            helper.make_tensor_value_info(EFFECTS_OUTPUT, TensorProto.FLOAT, ["N", len(EFFECTS)]),
        ],
        initializer=b.init,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def _basis(b: _Builder, model: GAMForecaster, col: dict[str, str]) -> tuple[str, int]:
    """The design matrix without the intercept ``[N, P-1]`` (temperature hinges first) and the
    number of temperature columns; same column order as :meth:`GAMForecaster.effects`."""
    from onnx import TensorProto

    names = model.feature_names
    cols: list[str] = []
    for c, knots in model.knots.items():
        cols.append(col[c])
        if knots:
            cols.append(b.op("Relu", [b.op("Sub", [col[c], b.const([knots])])]))
    n_temp_cols = sum(1 + len(k) for k in model.knots.values())
    if "dow" in names:
        hol = col["is_holiday"] if "is_holiday" in names else b.const([[0.0]])
        is_hol = b.op("Greater", [hol, b.const([[0.0]])])
        dtype = b.op("Where", [is_hol, b.const([[6.0]]), col["dow"]])
        onehot = b.op("Equal", [dtype, b.const([[1.0, 2, 3, 4, 5, 6]])])
        cols.append(b.op("Cast", [onehot], to=TensorProto.FLOAT))
    cols += [col[c] for c in CALENDAR_FLAGS if c in names]
    if "doy_sin" in names and "doy_cos" in names:
        s, c = col["doy_sin"], col["doy_cos"]
        sk, ck = s, c
        for k in range(model.config.fourier):
            if k:
                sk, ck = (
                    b.op("Add", [b.op("Mul", [sk, c]), b.op("Mul", [ck, s])]),
                    b.op("Sub", [b.op("Mul", [ck, c]), b.op("Mul", [sk, s])]),
                )
            cols += [sk, ck]
    cols += [col[c] for c in LAGS.values() if c in names]
    return b.op("Concat", cols, axis=1), n_temp_cols


def _hour_coefficients(
    b: _Builder, model: GAMForecaster, col: dict[str, str], basis: str, n_temp_cols: int
) -> tuple[str, str, str]:
    """(coefficient rows, level, basis) per row's ``hour``; rows without temperature switch to
    the fallback coefficients and get their temperature columns zeroed."""
    hour = b.op("Cast", [b.op("Clip", [col["hour"], b.const(0.0), b.const(23.0)])], to=7)
    hour = b.op("Reshape", [hour, b.const([-1], np.int64)])
    rows = b.op("Gather", [b.const(model.coef[:, 1:]), hour], axis=0)
    level = b.op("Gather", [b.const(model.coef[:, :1]), hour], axis=0)
    if n_temp_cols and model.uses_temperature:
        t_idx = b.const(list(range(n_temp_cols)), np.int64)
        temps = b.op("Gather", [basis, t_idx], axis=1)
        no_temp = b.op("ReduceMax", [b.op("Cast", [b.op("IsNaN", [temps])], to=1)], axes=[1])
        no_temp = b.op("Greater", [no_temp, b.const([[0.5]])])
        rows0 = b.op("Gather", [b.const(model.coef_fallback[:, 1:]), hour], axis=0)
        level0 = b.op("Gather", [b.const(model.coef_fallback[:, :1]), hour], axis=0)
        rows = b.op("Where", [no_temp, rows0, rows])
        level = b.op("Where", [no_temp, level0, level])
        is_temp = np.zeros(basis_width(model), dtype=bool)
        is_temp[:n_temp_cols] = True
        zero_temp = b.op("And", [no_temp, b.const([is_temp], np.bool_)])
        basis = b.op("Where", [zero_temp, b.const([[0.0]]), basis])
    return rows, level, basis


def _effects(b: _Builder, model: GAMForecaster, rows: str, level: str, basis: str) -> str:
    """``effects [N, J]``: each basis column's contribution summed into its effect group, the
    per-hour level in the first effect."""
    # unused inputs (zero coefficient) contribute 0 even when NaN, as natively
    contrib = b.op(
        "Where",
        [b.op("Equal", [rows, b.const([[0.0]])]), b.const([[0.0]]), b.op("Mul", [basis, rows])],
    )
    G = np.eye(len(EFFECTS), dtype=np.float32)[np.asarray(model.groups[1:], dtype=int)]
    e0 = np.zeros((1, len(EFFECTS)), dtype=np.float32)
    e0[0, 0] = 1.0
    return b.op("Add", [b.op("MatMul", [contrib, b.const(G)]), b.op("Mul", [level, b.const(e0)])])


def basis_width(model: GAMForecaster) -> int:
    """Columns of the design matrix without the intercept."""
    return int(model.coef.shape[1] - 1)
