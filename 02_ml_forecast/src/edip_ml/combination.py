"""The served combination: experts' graphs merged into one ONNX file, weights as its online state.

What the backtest evaluates as ``combination`` (ML-Poly over the experts' day-ahead forecasts,
:mod:`edip_ml.aggregation`) is what :class:`CombinedForecaster` serves: every expert fitted on
the training period, exported to its contract graph, the graphs merged side by side into one
model whose extra output ``experts`` [N, K] holds each expert's P50 (``effects_<k>`` too for a
Kalman expert), and the ML-Poly state reached at the end of the backtest stored as the
``online_state`` metadata (weights per hour, the adaptive conformal band of
:mod:`edip_pipeline.conformal`, the experts' Kalman states).
:class:`edip_pipeline.contract.OnnxForecaster` applies it with numpy; the graph's own
``quantiles`` output computes the same with the weights and the band at export.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from edip_ml.models.base import Forecaster
from edip_ml.onnx_export import feature_params_metadata, to_onnx
from edip_ml.onnx_wrap import TARGET_OPSET, ExportError, contract_metadata
from edip_pipeline.conformal import CONFORMAL_KEY, ConformalBand
from edip_pipeline.contract import (
    EFFECTS_OUTPUT,
    EXPERTS_OUTPUT,
    HOUR_COLUMN,
    ONLINE_STATE_KEY,
    ONNX_INPUT,
    ONNX_OUTPUT,
)
from edip_pipeline.online import MLPoly, combine

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)


class CombinedForecaster:
    """Fitted experts + an ML-Poly state; ``predict`` and :meth:`export_onnx` agree."""

    name = "combination"
    family = "combination"

    def __init__(self, experts: Sequence[Forecaster], state: MLPoly, band: ConformalBand) -> None:
        names = {tuple(e.feature_names) for e in experts}
        if len(names) != 1:
            raise ExportError("combination: the experts were not fitted on the same features")
        self.experts = list(experts)
        self.state = state
        self.band = band
        self.feature_names: list[str] = list(self.experts[0].feature_names)
        self.feature_params = self.experts[0].feature_params
        self.offsets = np.zeros((4, 2))  # the band is the online state's (relative, per hour)
        self.params: dict[str, Any] = {"experts": [e.name for e in self.experts]}
        self.seed = self.experts[0].seed

    def expert_matrix(self, X: pd.DataFrame) -> np.ndarray:
        return np.column_stack([e.predict(X)["p50"].to_numpy(dtype=float) for e in self.experts])

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        hours = np.clip(np.nan_to_num(X[HOUR_COLUMN].to_numpy(dtype=float)), 0, 23).astype(int)
        p50 = combine(self.expert_matrix(X), self.state.weights(), hours)
        q = self.band.interval(p50, hours)
        q = np.where(np.isnan(q), p50[:, None], q)  # an hour without a band yet: none
        return pd.DataFrame(q, index=X.index, columns=["p10", "p50", "p90"])

    def online_state(self) -> dict[str, Any]:
        state = self.state.to_dict()
        state[CONFORMAL_KEY] = self.band.to_dict()
        state["experts"] = [e.name for e in self.experts]
        kalman = {
            str(k): e.state.to_dict()  # type: ignore[attr-defined]
            for k, e in enumerate(self.experts)
            if getattr(e, "state", None) is not None
        }
        if kalman:
            state["expert_states"] = kalman
        return state

    def export_onnx(self) -> onnx.ModelProto:
        return merged_graph(self)


def merged_graph(model: CombinedForecaster) -> onnx.ModelProto:
    """One ONNX model: every expert's graph under a prefix, ``experts`` and ``quantiles`` outputs."""
    import onnx
    from onnx import TensorProto, helper

    opsets: dict[str, int] = {"": TARGET_OPSET}
    nodes, inits, outputs = _expert_nodes(model, opsets)
    w_nodes, w_inits = _weighting_nodes(model)
    nodes += w_nodes
    inits += w_inits
    n_features = len(model.feature_names)
    graph = helper.make_graph(
        nodes,
        "edip_combination",
        [helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT, ["N", n_features])],
        [
            helper.make_tensor_value_info(ONNX_OUTPUT, TensorProto.FLOAT, ["N", 3]),
            helper.make_tensor_value_info(
                EXPERTS_OUTPUT, TensorProto.FLOAT, ["N", len(model.experts)]
            ),
            *outputs,
        ],
        initializer=inits,
    )
    out = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())]
    )
    out.producer_name = "edip_ml"
    meta = contract_metadata(model.feature_names, model.name, model.offsets)
    meta.update(feature_params_metadata(model))  # type: ignore[arg-type]
    meta[ONLINE_STATE_KEY] = json.dumps(model.online_state())
    onnx.helper.set_model_props(out, meta)
    onnx.checker.check_model(out, full_check=True)
    return out


def _expert_nodes(
    model: CombinedForecaster, opsets: dict[str, int]
) -> tuple[list[Any], list[Any], list[Any]]:
    """(nodes, initializers, extra outputs): each expert's contract graph under ``x<k>_``, its P50
    gathered into the ``experts`` [N, K] output, a Kalman expert's ``effects_<k>`` exposed.
    ``opsets`` collects the highest version per domain."""
    from onnx import TensorProto, compose, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []
    outputs: list[Any] = []
    columns: list[str] = []
    for k, expert in enumerate(model.experts):
        sub = compose.add_prefix(to_onnx(expert), f"x{k}_")
        for op in sub.opset_import:
            domain = "" if op.domain == "ai.onnx" else op.domain
            opsets[domain] = max(opsets.get(domain, 0), op.version)
        nodes.append(helper.make_node("Identity", [ONNX_INPUT], [f"x{k}_{ONNX_INPUT}"]))
        nodes.extend(sub.graph.node)
        inits.extend(sub.graph.initializer)
        idx = numpy_helper.from_array(np.asarray([1], dtype=np.int64), f"c{k}_median_idx")
        inits.append(idx)
        nodes.append(
            helper.make_node("Gather", [f"x{k}_{ONNX_OUTPUT}", idx.name], [f"c{k}_p50"], axis=1)
        )
        columns.append(f"c{k}_p50")
        if getattr(expert, "state", None) is not None:
            name = f"{EFFECTS_OUTPUT}_{k}"
            nodes.append(helper.make_node("Identity", [f"x{k}_{EFFECTS_OUTPUT}"], [name]))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", None]))
    nodes.append(helper.make_node("Concat", columns, [EXPERTS_OUTPUT], axis=1))
    return nodes, inits, outputs


def _weighting_nodes(model: CombinedForecaster) -> tuple[list[Any], list[Any]]:
    """(nodes, initializers) of ``quantiles = experts · weights[hour] + band`` (weights at export)."""
    from onnx import TensorProto, helper, numpy_helper

    hour_idx = model.feature_names.index(HOUR_COLUMN)
    consts: dict[str, np.ndarray] = {
        "c_hour_idx": np.asarray([hour_idx], dtype=np.int64),
        "c_lo": np.asarray(0.0, dtype=np.float32),
        "c_hi": np.asarray(23.0, dtype=np.float32),
        "c_shape": np.asarray([-1], dtype=np.int64),
        "c_axes": np.asarray([1], dtype=np.int64),
        "c_weights": model.state.weights().astype(np.float32),
        "c_band": _relative_band(model.band),
    }
    inits = [numpy_helper.from_array(v, n) for n, v in consts.items()]
    nodes = [
        helper.make_node("Gather", [ONNX_INPUT, "c_hour_idx"], ["c_hour"], axis=1),
        helper.make_node("Clip", ["c_hour", "c_lo", "c_hi"], ["c_hour_clip"]),
        helper.make_node("Cast", ["c_hour_clip"], ["c_hour_int"], to=TensorProto.INT64),
        helper.make_node("Reshape", ["c_hour_int", "c_shape"], ["c_hour_flat"]),
        helper.make_node("Gather", ["c_weights", "c_hour_flat"], ["c_w"], axis=0),
        helper.make_node("Mul", ["c_w", EXPERTS_OUTPUT], ["c_wx"]),
        helper.make_node("ReduceSum", ["c_wx", "c_axes"], ["c_p50"], keepdims=1),
        helper.make_node("Gather", ["c_band", "c_hour_flat"], ["c_rel"], axis=0),
        helper.make_node("Mul", ["c_p50", "c_rel"], [ONNX_OUTPUT]),
    ]
    return nodes, inits


def _relative_band(band: ConformalBand) -> np.ndarray:
    """``[24, 3]`` factors (1 + relative P10, 1, 1 + relative P90) per hour: the band at export
    (an hour without one gets none), what :meth:`ConformalBand.interval` gives for P50 > 0."""
    rel = np.nan_to_num(band.relative_offsets(np.arange(band.n_groups)), nan=0.0)
    ones = np.ones(band.n_groups)
    factors = [1 + np.minimum(rel[:, 0], 0), ones, 1 + np.maximum(rel[:, 1], 0)]
    return np.column_stack(factors).astype(np.float32)


def train_combination(
    *,
    table: Any,
    data: Any,
    store: Any,
    params: Any,
    period: tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp],
    register_models: bool,
    model_name: str,
    experiment: str,
    weather: Any,
) -> Any:
    """``edip train ml combination``: backtest the experts (the combination's state comes out of
    it, exactly as evaluated), fit them on the whole period, publish the merged graph."""
    from edip_ml import metrics
    from edip_ml.aggregation import COMBINATION
    from edip_ml.publish import publish
    from edip_ml.train import TrainResult

    start_day, end_day, _ = period
    frame, state = _backtest_state(
        data=data, store=store, params=params, period=period, weather=weather
    )
    experts = _fit_experts(frame, table, data, params)
    combined = CombinedForecaster(experts, state, ConformalBand.from_dict(frame.attrs["conformal"]))
    row = metrics.summary(frame).loc[COMBINATION].to_dict()
    scores: dict[str, float] = {
        str(k): float(v) for k, v in row.items() if isinstance(v, int | float)
    }
    published = publish(
        combined,  # type: ignore[arg-type]
        X_parity=table.X.tail(24 * 28),
        register_model=register_models,
        model_name=model_name,
        params={"model_name": COMBINATION, "experts": ",".join(e.name for e in experts)},
        metrics={"backtest_rows" if k == "n" else k: v for k, v in scores.items()},
        weather_source=table.weather_source,
        store=store,
        experiment=experiment,
        run_name=f"{COMBINATION} {start_day.date()}..{end_day.date()}",
        version_tags={"backtest_mape": f"{scores.get('mape', float('nan')):.6f}"},
    )
    return TrainResult.of(COMBINATION, published, scores)


def _backtest_state(
    *,
    data: Any,
    store: Any,
    params: Any,
    period: tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp],
    weather: Any,
) -> tuple[pd.DataFrame, MLPoly]:
    """The combination's backtest frame and the ML-Poly state it ends with (what is served)."""
    from edip_ml.aggregation import COMBINATION, aggregate
    from edip_ml.backtest import backtest

    start_day, end_day, bt_start = period
    cfg = params.combination
    bt_params = params.with_overrides({"backtest": {"train_start": str(start_day.date())}})
    result = backtest(
        store, list(cfg.experts), bt_start, end_day, params.protocol, bt_params,
        weather=weather, baselines=[], progress=False, data=data,
    )  # fmt: skip
    step = pd.Timedelta(params.step)
    frame, state = aggregate(
        result.forecasts, cfg.experts, step, COMBINATION, cfg.interval_window_days
    )
    if state is None or frame.empty:
        raise ExportError(f"combination: fewer than two of {cfg.experts} could be backtested")
    return frame, state


def _fit_experts(frame: pd.DataFrame, table: Any, data: Any, params: Any) -> list[Forecaster]:
    """The experts the combination kept, each fitted on the whole training table."""
    from edip_ml.models import make_model

    experts = []
    for name in frame.attrs.get("experts", params.combination.experts):
        expert = make_model(name, params).fit(table.X, table.y, params.calibration_fraction)
        expert.feature_params = data.feature_params.model_dump(mode="json")
        experts.append(expert)
    return experts
