"""The serving contract of every EDIP forecast model, and its onnxruntime-only runner.

Why here: the trainers (``edip_ml``, ``edip_dl``) export to it and the API (``edip_api``) serves
it, and the API may depend on nothing but the pipeline, onnxruntime and the MLflow client. One
definition keeps both sides honest.

* input ``features``: float32 ``[N, F]`` in the order of ``feature_names``; NaN allowed;
* output ``quantiles``: float32 ``[N, 3]`` = P10, P50, P90 in MW;
* metadata_props: ``feature_names`` (JSON list), ``model_name``, ``quantiles`` ("0.1,0.5,0.9"),
  ``horizon_groups`` (JSON), ``edip_contract`` ("1"), and, when the trainer recorded them,
  ``feature_params`` (JSON of :class:`~edip_pipeline.config.FeatureParams`: how the serving side
  must build the features) and ``conformal_offsets``.
* online models (optional): metadata ``online_state`` (JSON, :mod:`edip_pipeline.online`) and an
  extra output the state applies to — ``effects`` ``[N, J]`` for a Kalman state (P50 = effects·θ)
  or ``experts`` ``[N, K]`` for an ML-Poly combination (P50 = per-hour weights · experts, the
  weight group read from the ``hour`` feature). The state may carry ``conformal`` (the adaptive
  P10–P90 band of :mod:`edip_pipeline.conformal`, per hour of the ``hour`` feature; older
  versions: ``band``, fixed [P10 − P50, P90 − P50]) and, for a combination, the Kalman states
  of its experts (``expert_states``: index → state, applied to outputs ``effects_<index>``).
  :class:`OnnxForecaster` applies the state with numpy, so an updated state (a new metadata JSON)
  changes the forecast without retraining or any training library.
* RTE variant (optional): a model whose ``feature_names`` hold :data:`RTE_FEATURE` takes RTE's
  D-1 forecast as an expert (``combination_rte``); its state then carries
  :data:`WITHOUT_RTE_KEY`, the state of the same experts combined without it (the
  ``combination`` variant). A batch in which any row lacks RTE's forecast is served wholly by
  that state (:meth:`OnnxForecaster.variant` says which): never a mix of the two in one answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from edip_pipeline.extras import missing_extra

QUANTILES: tuple[float, float, float] = (0.1, 0.5, 0.9)
QUANTILE_COLUMNS: tuple[str, str, str] = ("p10", "p50", "p90")
ONNX_INPUT = "features"
ONNX_OUTPUT = "quantiles"
CONTRACT_VERSION = "1"
#: horizon groups (hours, inclusive upper bounds) for conformal offsets
HORIZON_GROUPS: tuple[int, ...] = (12, 24, 36, 48)
HORIZON_COLUMN = "horizon_h"
#: metadata key holding the FeatureParams the model was trained with (JSON)
FEATURE_PARAMS_KEY = "feature_params"
#: metadata key of an online state (JSON of :mod:`edip_pipeline.online`), and its outputs
ONLINE_STATE_KEY = "online_state"
EFFECTS_OUTPUT = "effects"
EXPERTS_OUTPUT = "experts"
HOUR_COLUMN = "hour"
#: RTE's D-1 forecast as a feature (known at 10:00 Paris on D-1): ``edip_pipeline.features.rte``
RTE_FEATURE = "rte_d1_mw"
#: the two served variants of the combination: with and without RTE's D-1 forecast as an expert
WITH_RTE = "with_rte"
WITHOUT_RTE = "without_rte"
#: online-state key of the no-RTE state a ``with_rte`` model falls back to
WITHOUT_RTE_KEY = "without_rte"
#: online-state key of the expert column holding RTE's forecast
RTE_EXPERT_KEY = "rte_expert"


def variant_of(feature_names: Sequence[str], matrix: np.ndarray) -> str:
    """``with_rte`` when the model takes RTE's forecast and every row of ``matrix`` has it, else
    ``without_rte`` (a model without the feature, or RTE's forecast missing at the origin)."""
    if RTE_FEATURE not in feature_names:
        return WITHOUT_RTE
    column = np.asarray(matrix, dtype=float)[:, list(feature_names).index(RTE_FEATURE)]
    return WITH_RTE if len(column) and bool(np.isfinite(column).all()) else WITHOUT_RTE


class FeatureContractError(ValueError):
    """A model is not an EDIP contract model, or its input does not match its feature list."""


class OnnxForecaster:
    """A contract ONNX model run by onnxruntime alone: what the API serves.

    ``source`` is a path, the serialized bytes, or an ``onnx.ModelProto``. onnxruntime is
    imported here, not at module import, so the pipeline's training-free users never load it.
    """

    def __init__(self, source: str | Path | bytes | Any, intra_op_threads: int = 0) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise missing_extra("onnx", exc, feature="OnnxForecaster") from exc

        if isinstance(source, bytes):
            payload: bytes | str = source
        elif isinstance(source, str | Path):
            payload = str(source)
        elif hasattr(source, "SerializeToString"):
            payload = source.SerializeToString()
        else:
            raise TypeError(f"cannot load an ONNX model from {type(source).__name__}")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if intra_op_threads:
            options.intra_op_num_threads = intra_op_threads
        self.session = ort.InferenceSession(
            payload, sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if (
            self.metadata.get("edip_contract") != CONTRACT_VERSION
            or inputs != [ONNX_INPUT]
            or ONNX_OUTPUT not in outputs
            or "feature_names" not in self.metadata
        ):
            raise FeatureContractError(
                f"not an EDIP contract-{CONTRACT_VERSION} model (inputs {inputs}, outputs "
                f"{outputs}, edip_contract={self.metadata.get('edip_contract')!r})"
            )
        self.feature_names: list[str] = list(json.loads(self.metadata["feature_names"]))
        self.model_name: str = self.metadata.get("model_name", "onnx")
        self.name = self.model_name
        self.outputs = outputs
        raw_state = self.metadata.get(ONLINE_STATE_KEY)
        self.online_state: dict[str, Any] | None = json.loads(raw_state) if raw_state else None

    @property
    def feature_params(self) -> dict[str, Any] | None:
        """The FeatureParams (as a dict) recorded at training, if the trainer stored them."""
        raw = self.metadata.get(FEATURE_PARAMS_KEY)
        return dict(json.loads(raw)) if raw else None

    def __repr__(self) -> str:
        return f"OnnxForecaster({self.model_name!r}, {len(self.feature_names)} features)"

    def missing_features(self, columns: Sequence[str]) -> list[str]:
        """Features the model needs that ``columns`` lacks, in contract order."""
        have = set(columns)
        return [c for c in self.feature_names if c not in have]

    def variant(self, X: pd.DataFrame | np.ndarray) -> str:
        """Which variant :meth:`predict` serves these rows with (:func:`variant_of`)."""
        matrix = X[self.feature_names].to_numpy(dtype=float) if isinstance(X, pd.DataFrame) else X
        return variant_of(self.feature_names, matrix)

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Raw ``[N, F]`` float32 (contract order) → ``[N, 3]`` float64 P10/P50/P90."""
        if matrix.ndim != 2 or matrix.shape[1] != len(self.feature_names):
            raise FeatureContractError(
                f"{self.model_name}: expected [N, {len(self.feature_names)}] features, "
                f"got {list(matrix.shape)}"
            )
        if not len(matrix):
            return np.zeros((0, len(QUANTILES)))
        data = np.ascontiguousarray(matrix, dtype=np.float32)
        if self.online_state is None:
            out = self.session.run([ONNX_OUTPUT], {ONNX_INPUT: data})[0]
            return np.asarray(out, dtype=float)
        return self._apply_state(data)

    def _apply_state(self, data: np.ndarray) -> np.ndarray:
        """P10/P50/P90 with the online state applied by numpy (see the module doc)."""
        from edip_pipeline.conformal import CONFORMAL_KEY, ConformalBand
        from edip_pipeline.online import KalmanEffects, MLPoly, combine, state_from_dict

        state_dict = dict(self.online_state or {})
        names = [o for o in self.outputs if o != ONNX_OUTPUT]
        got = dict(
            zip(
                [ONNX_OUTPUT, *names],
                self.session.run([ONNX_OUTPUT, *names], {ONNX_INPUT: data}),
                strict=True,
            )
        )
        q = np.asarray(got[ONNX_OUTPUT], dtype=float)
        state = state_from_dict(state_dict)
        hours = (
            data[:, self.feature_names.index(HOUR_COLUMN)]
            if HOUR_COLUMN in self.feature_names
            else np.zeros(len(data))
        )
        hours = np.clip(np.nan_to_num(hours), 0, 23).astype(int)
        if isinstance(state, KalmanEffects):
            p50 = state.predict(np.asarray(got[EFFECTS_OUTPUT], dtype=float))
        elif isinstance(state, MLPoly):
            experts = np.asarray(got[EXPERTS_OUTPUT], dtype=float)
            for k, sub in (state_dict.get("expert_states") or {}).items():
                effects = np.asarray(got[f"{EFFECTS_OUTPUT}_{k}"], dtype=float)
                experts[:, int(k)] = KalmanEffects.from_dict(sub).predict(effects)
            if WITHOUT_RTE_KEY in state_dict and self.variant(data) == WITHOUT_RTE:
                experts = np.delete(experts, int(state_dict[RTE_EXPERT_KEY]), axis=1)
                state_dict = {**state_dict, **state_dict[WITHOUT_RTE_KEY]}
                state = MLPoly.from_dict(state_dict)
            p50 = combine(experts, state.weights(), np.minimum(hours, state.n_groups - 1))
        else:  # pragma: no cover - state_from_dict only returns the two kinds
            raise FeatureContractError(f"unknown online state {type(state).__name__}")
        band = state_dict.get("band")  # a fixed band (versions exported before the ACI band)
        low, high = (band[0], band[1]) if band else (q[:, 0] - q[:, 1], q[:, 2] - q[:, 1])
        out = np.column_stack([p50 + low, p50, p50 + high])
        if CONFORMAL_KEY in state_dict:  # the adaptive band, as evaluated (edip_pipeline.conformal)
            aci = ConformalBand.from_dict(state_dict[CONFORMAL_KEY]).interval(p50, hours)
            out = np.where(np.isnan(aci), out, aci)
        return out

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """P10/P50/P90 (MW, float64 columns ``p10, p50, p90``), index of ``X``."""
        missing = self.missing_features(list(X.columns))
        if missing:
            raise FeatureContractError(
                f"{self.model_name}: features missing at prediction time: {missing}"
            )
        out = self.predict_matrix(X[self.feature_names].to_numpy(dtype=np.float32))
        return pd.DataFrame(out, index=X.index, columns=list(QUANTILE_COLUMNS))
