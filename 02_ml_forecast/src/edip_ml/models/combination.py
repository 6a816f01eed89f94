"""The combination, a forecaster made of forecasters: experts' graphs merged into one ONNX file.

What the backtest evaluates as ``combination`` (ML-Poly over the experts' day-ahead forecasts,
:mod:`edip_ml.models.aggregation`) is what :class:`CombinedForecaster` serves: every expert fitted on
the training period, exported to its contract graph, the graphs merged side by side into one
model whose extra output ``experts`` [N, K] holds each expert's P50 (``effects_<k>`` too for a
Kalman expert), and the ML-Poly state reached at the end of the backtest stored as the
``online_state`` metadata (weights per hour, the adaptive conformal band of
:mod:`edip_pipeline.conformal`, the experts' Kalman states).
:class:`edip_pipeline.contract.OnnxForecaster` applies it with numpy; the graph's own
``quantiles`` output computes the same with the weights and the band at export.

Why built from its members (:meth:`CombinedForecaster.from_members`) and not refitted: training
the default set fits and backtests each expert once; the combination reuses those fitted experts
and their backtest forecasts (the ML-Poly state is replayed over them), as the backtest did.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from edip_ml.config import CombinationParams, MLParams
from edip_ml.export.onnx_export import feature_params_metadata
from edip_ml.export.onnx_wrap import TARGET_OPSET, contract_metadata
from edip_ml.hyperparams import ModelParams
from edip_ml.models.aggregation import aggregate
from edip_ml.models.base import Forecaster, ModelError, OnlineForecaster
from edip_ml.models.walk_forward import new_band, rule_of
from edip_pipeline.conformal import CONFORMAL_KEY, ConformalBand
from edip_pipeline.contract import (
    EFFECTS_OUTPUT,
    EXPERTS_OUTPUT,
    HOUR_COLUMN,
    ONLINE_STATE_KEY,
    ONNX_INPUT,
    ONNX_OUTPUT,
)
from edip_pipeline.contributions import CONTRIBUTIONS
from edip_pipeline.online import LAST_DAY_KEY, MLPoly, combine

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)


class CombinedForecaster(OnlineForecaster):
    """Fitted experts + an ML-Poly state; ``predict`` and :meth:`export_onnx` agree."""

    name: ClassVar[str] = "combination"
    family: ClassVar[str] = "combination"
    handles_nan: ClassVar[bool] = True
    params_class: ClassVar[type[ModelParams]] = CombinationParams

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        super().__init__(params, seed)
        self.config = CombinationParams.model_validate(self.params)
        self.experts: list[Forecaster] = []
        self.state: MLPoly | None = None
        self.band: ConformalBand = new_band(
            self.config.interval_window_days or 56, self.config.interval_gamma
        )
        #: the experts' hyper-parameters (their sections of params.yaml) for :meth:`fit`
        self.member_params = MLParams()

    @classmethod
    def from_params(cls, params: MLParams, seed: int) -> CombinedForecaster:
        model = cls(params.hyper(cls.name), seed=seed)
        model.member_params = params
        return model

    def members(self) -> list[str]:
        return list(self.config.experts)

    @property
    def rte_column(self) -> int | None:
        """Index of the input column holding RTE's D-1 forecast (an expert); none here."""
        return None

    def clone(self) -> Self:
        twin = super().clone()
        twin.member_params = self.member_params
        return twin

    def fit(
        self, X: pd.DataFrame, y: pd.Series, calibration_fraction: float = 0.15
    ) -> CombinedForecaster:
        """Fit on its own, with no backtest at hand (a new model family's checks, a notebook):
        the experts on the first rows, ML-Poly over their forecasts of the last
        ``calibration_fraction`` (in time order), the band from those rows' residuals; then the
        experts refitted on every row. Training a set uses :meth:`from_members` instead."""
        from edip_ml.models import make_model  # the registry imports this module

        n_cal = int(len(X) * calibration_fraction)
        if n_cal < 50:
            raise ModelError(f"{self.name}: too few calibration rows for the weights ({n_cal})")
        fit, cal = slice(0, len(X) - n_cal), slice(len(X) - n_cal, len(X))
        plain = self._expert_input(X)
        experts = [
            make_model(n, self.member_params, self.seed).fit(plain.iloc[fit], y.iloc[fit])
            for n in self.members()
        ]
        E = self._calibration_matrix(experts, X.iloc[cal])
        state, band = self._calibrate(E, y.iloc[cal].to_numpy(dtype=float), _hours(X.iloc[cal]))
        for expert in experts:
            expert.fit(plain, y, calibration_fraction)
        self.set_experts(experts, state, band)
        return self

    def _expert_input(self, X: pd.DataFrame) -> pd.DataFrame:
        """The columns the experts are fitted on (all here)."""
        return X

    def _calibration_matrix(self, experts: Sequence[Forecaster], X: pd.DataFrame) -> np.ndarray:
        """The experts' P50 on the calibration rows, one column each."""
        return np.column_stack([e.predict(X)["p50"].to_numpy(dtype=float) for e in experts])

    def _calibrate(
        self, E: np.ndarray, y: np.ndarray, hours: np.ndarray
    ) -> tuple[MLPoly, ConformalBand]:
        """ML-Poly over the calibration rows, and a band from the few rows each hour has (at
        least one: a short calibration slice)."""
        state = MLPoly(E.shape[1], forget=self.config.forget)
        state.update(E, y, hours)
        per_hour = max(1, min(self.band.min_count, len(y) // 24))
        band = ConformalBand(window=self.band.window, gamma=self.band.gamma, min_count=per_hour)
        band.update(combine(E, state.weights(), hours), y, hours)
        return state, band

    def from_members(
        self, fitted: Sequence[Forecaster], forecasts: pd.DataFrame, step: pd.Timedelta
    ) -> pd.DataFrame:
        """ML-Poly replayed over the members' backtest ``forecasts`` (leak-free, origin by origin);
        the state it ends with and the fitted members are what is served. Returns the
        combination's backtest forecasts."""
        frame, state = aggregate(
            forecasts,
            [m.name for m in fitted],
            self.name,
            self.config.interval_window_days,
            self.config.interval_gamma,
            self.config.forget,
            rule=rule_of(forecasts.attrs),
        )
        if state is None or frame.empty:
            raise ModelError(f"{self.name}: fewer than two of {self.members()} were backtested")
        kept = list(frame.attrs.get("experts", []))
        by_name = {m.name: m for m in fitted}
        band = ConformalBand.from_dict(frame.attrs[CONFORMAL_KEY])
        self.set_experts([by_name[n] for n in kept], state, band)
        return frame

    def set_experts(
        self, experts: Sequence[Forecaster], state: MLPoly, band: ConformalBand
    ) -> None:
        """Take fitted ``experts`` (same features) and the ML-Poly ``state`` over them."""
        if len({tuple(e.feature_names) for e in experts}) != 1:
            raise ModelError(f"{self.name}: the experts were not fitted on the same features")
        self.experts = list(experts)
        self.state = state
        self.band = band
        self.feature_names = list(self.experts[0].feature_names)
        self.feature_params = self.experts[0].feature_params
        self.offsets = np.zeros_like(self.offsets)  # the band is the online state's (per hour)
        self.params["experts"] = [e.name for e in self.experts]

    def _fit_median(self, X: np.ndarray, y: np.ndarray) -> None:
        raise ModelError(f"{self.name}: built from its fitted members (from_members), not fitted")

    def _predict_median(self, X: np.ndarray) -> np.ndarray:
        return self.predict(pd.DataFrame(X, columns=self.feature_names))["p50"].to_numpy()

    def expert_matrix(self, X: pd.DataFrame) -> np.ndarray:
        return np.column_stack([e.predict(X)["p50"].to_numpy(dtype=float) for e in self.experts])

    def _weights(self) -> np.ndarray:
        if self.state is None:
            raise ModelError(f"{self.name}: not built (no experts)")
        return self.state.weights()

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        hours = _hours(X)
        p50 = combine(self.expert_matrix(X), self._weights(), hours)
        q = self.band.interval(p50, hours)
        q = np.where(np.isnan(q), p50[:, None], q)  # an hour without a band yet: none
        return pd.DataFrame(q, index=X.index, columns=["p10", "p50", "p90"])

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame | None:
        """Each named contribution combined like the P50: the experts' decompositions weighted
        by the weights of the row's hour (as served now), an expert without a P50 left out."""
        parts = [e.contributions(X) for e in self.experts]
        if any(p is None for p in parts):
            return None
        E, hours, weights = self.expert_matrix(X), _hours(X), self._weights()
        out = {}
        for c in CONTRIBUTIONS:
            D = np.column_stack([p[c].to_numpy(dtype=float) for p in parts if p is not None])
            out[c] = combine(np.where(np.isfinite(E), D, np.nan), weights, hours)
        return pd.DataFrame(out, index=X.index)

    def online_state(self) -> dict[str, Any] | None:
        if self.state is None:
            return None
        state = self.stamped(self.state.to_dict())
        state["experts"] = [e.name for e in self.experts]
        kalman = {str(k): s for k, e in enumerate(self.experts) if (s := e.online_state())}
        if kalman:
            state["expert_states"] = kalman
        return state

    def absorb(self, X: pd.DataFrame, y: pd.Series) -> np.ndarray:
        """The weights learn from the experts, then each online expert absorbs the rows (the
        order :class:`edip_ml.models.online.ServedOnline` follows on the served state; the band
        is the engine's)."""
        if self.state is None:
            raise ModelError(f"{self.name}: absorb called before it was built")
        values, hours, E = y.to_numpy(dtype=float), _hours(X), self.expert_matrix(X)
        self._absorb_weights(E, values, hours)
        for expert in self.experts:
            if isinstance(expert, OnlineForecaster):
                expert.absorb(X, y)
        return ~np.isfinite(values)

    def _absorb_weights(self, E: np.ndarray, values: np.ndarray, hours: np.ndarray) -> None:
        """The weights learn from the experts (the band is the walk-forward engine's)."""
        assert self.state is not None
        self.state.update(E, values, hours)

    def load_online_state(self, state: dict[str, Any]) -> None:
        self.state = MLPoly.from_dict(state)
        if CONFORMAL_KEY in state:
            self.band = ConformalBand.from_dict(state[CONFORMAL_KEY])
        self.last_day = state.get(LAST_DAY_KEY)
        for k, sub in (state.get("expert_states") or {}).items():
            expert = self.experts[int(k)]
            if isinstance(expert, OnlineForecaster):
                expert.load_online_state(sub)

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
    n_experts = len(model.experts) + (model.rte_column is not None)
    graph = helper.make_graph(
        nodes,
        "edip_combination",
        [helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT, ["N", n_features])],
        [
            helper.make_tensor_value_info(ONNX_OUTPUT, TensorProto.FLOAT, ["N", 3]),
            helper.make_tensor_value_info(EXPERTS_OUTPUT, TensorProto.FLOAT, ["N", n_experts]),
            *outputs,
        ],
        initializer=inits,
    )
    out = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())]
    )
    out.producer_name = "edip_ml"
    meta = contract_metadata(model.feature_names, model.name, model.offsets)
    meta.update(feature_params_metadata(model))
    meta[ONLINE_STATE_KEY] = json.dumps(model.online_state())
    onnx.helper.set_model_props(out, meta)
    onnx.checker.check_model(out, full_check=True)
    return out


def _expert_nodes(
    model: CombinedForecaster, opsets: dict[str, int]
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto], list[onnx.ValueInfoProto]]:
    """(nodes, initializers, extra outputs): each expert's contract graph under ``x<k>_``, its P50
    gathered into the ``experts`` [N, K] output, a Kalman expert's ``effects_<k>`` exposed.
    ``opsets`` collects the highest version per domain."""
    from onnx import TensorProto, compose, helper, numpy_helper

    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    outputs: list[onnx.ValueInfoProto] = []
    columns: list[str] = []
    source = ONNX_INPUT
    if model.rte_column is not None:  # the experts read the columns before RTE's forecast
        source = "c_expert_features"
        bounds = {"c_in_start": [0], "c_in_end": [model.rte_column], "c_in_axes": [1]}
        inits += [numpy_helper.from_array(np.asarray(v, np.int64), n) for n, v in bounds.items()]
        nodes.append(helper.make_node("Slice", [ONNX_INPUT, *bounds], [source]))
    for k, expert in enumerate(model.experts):
        sub = compose.add_prefix(expert.export_onnx(), f"x{k}_")
        for op in sub.opset_import:
            domain = "" if op.domain == "ai.onnx" else op.domain
            opsets[domain] = max(opsets.get(domain, 0), op.version)
        nodes.append(helper.make_node("Identity", [source], [f"x{k}_{ONNX_INPUT}"]))
        nodes.extend(sub.graph.node)
        inits.extend(sub.graph.initializer)
        idx = numpy_helper.from_array(np.asarray([1], dtype=np.int64), f"c{k}_median_idx")
        inits.append(idx)
        nodes.append(
            helper.make_node("Gather", [f"x{k}_{ONNX_OUTPUT}", idx.name], [f"c{k}_p50"], axis=1)
        )
        columns.append(f"c{k}_p50")
        if expert.online_state() is not None:
            name = f"{EFFECTS_OUTPUT}_{k}"
            nodes.append(helper.make_node("Identity", [f"x{k}_{EFFECTS_OUTPUT}"], [name]))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", None]))
    if model.rte_column is not None:  # RTE's forecast, the last expert, read from the input
        idx = numpy_helper.from_array(np.asarray([model.rte_column], np.int64), "c_rte_idx")
        inits.append(idx)
        nodes.append(helper.make_node("Gather", [ONNX_INPUT, idx.name], ["c_rte"], axis=1))
        columns.append("c_rte")
    nodes.append(helper.make_node("Concat", columns, [EXPERTS_OUTPUT], axis=1))
    return nodes, inits, outputs


def _weighting_nodes(
    model: CombinedForecaster,
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """(nodes, initializers) of ``quantiles = (experts · weights[hour]) × band[hour]`` (weights and
    relative band at export)."""
    from onnx import TensorProto, helper, numpy_helper

    hour_idx = model.feature_names.index(HOUR_COLUMN)
    consts: dict[str, np.ndarray] = {
        "c_hour_idx": np.asarray([hour_idx], dtype=np.int64),
        "c_lo": np.asarray(0.0, dtype=np.float32),
        "c_hi": np.asarray(23.0, dtype=np.float32),
        "c_shape": np.asarray([-1], dtype=np.int64),
        "c_axes": np.asarray([1], dtype=np.int64),
        "c_weights": model._weights().astype(np.float32),
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


def _hours(X: pd.DataFrame) -> np.ndarray:
    """The weight group of each row: its ``hour`` feature (what the ONNX graph gathers)."""
    return np.clip(np.nan_to_num(X[HOUR_COLUMN].to_numpy(dtype=float)), 0, 23).astype(int)
