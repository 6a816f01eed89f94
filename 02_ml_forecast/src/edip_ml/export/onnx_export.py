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

The family-specific converter (:mod:`edip_ml.export.onnx_sklearn`, :mod:`edip_ml.export.onnx_boosting`) only
produces the median graph; :func:`edip_ml.export.onnx_wrap.wrap_median` appends the contract nodes, so a
new family (the DL package) needs a median graph and nothing else. Each forecaster class picks its
exporter (:meth:`edip_ml.models.base.Forecaster.export_onnx` / ``median_graph``); this module
holds the converters it calls and checks parity.

The contract and its onnxruntime runner (:class:`OnnxForecaster`) live in
:mod:`edip_pipeline.contract`, shared with the API, which must not import this package.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from edip_ml.export.onnx_boosting import boosting_graph
from edip_ml.export.onnx_sklearn import sklearn_graph
from edip_ml.export.onnx_wrap import ExportError, multiply_by_reference, wrap_median
from edip_pipeline.contract import (
    FEATURE_PARAMS_KEY,
    ONLINE_STATE_KEY,
    QUANTILE_COLUMNS,
    FeatureContractError,  # noqa: F401  (re-exported)
    OnnxForecaster,  # re-exported too
)

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)


#: parity tolerance between the native model and its ONNX export, MW
PARITY_TOLERANCE_MW = 1.0


class Forecaster(Protocol):
    """What export, parity and tracking read of a fitted forecaster.

    Why a protocol and not :class:`edip_ml.models.base.Forecaster`: the models call the exporters
    (:meth:`~edip_ml.models.base.Forecaster.export_onnx`), so this layer must not import them back
    (no import cycle, ``make lint``).
    """

    @property
    def name(self) -> str: ...

    @property
    def family(self) -> str: ...

    feature_names: list[str]
    feature_params: dict[str, Any] | None
    offsets: np.ndarray
    params: dict[str, Any]
    seed: int

    def predict(self, X: pd.DataFrame) -> pd.DataFrame: ...

    def export_onnx(self) -> onnx.ModelProto: ...

    def log_native(self, tmpdir: Path) -> str | None: ...

    def importances(self) -> pd.Series | None: ...


class ParityError(RuntimeError):
    """The ONNX export does not reproduce the native model within tolerance: never register it."""

    def __init__(self, message: str, max_abs_diff: float) -> None:
        super().__init__(message)
        self.max_abs_diff = max_abs_diff


# ---------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------
def to_onnx(forecaster: Forecaster) -> onnx.ModelProto:
    """The fitted ``forecaster`` as one contract ONNX graph: its own exporter chooses how
    (:meth:`edip_ml.models.base.Forecaster.export_onnx`)."""
    if not list(forecaster.feature_names):
        raise ExportError(f"{forecaster.name}: not fitted (no feature_names)")
    return forecaster.export_onnx()


def contract_graph(
    forecaster: Forecaster, median: onnx.ModelProto, online_state: dict[str, Any] | None = None
) -> onnx.ModelProto:
    """``median`` (features -> median) wrapped into the contract: conformal offsets, metadata
    (feature names and params, the online state when the model adapts online)."""
    extra = feature_params_metadata(forecaster)
    if online_state is not None:
        extra[ONLINE_STATE_KEY] = json.dumps(online_state)
    return wrap_median(
        median,
        feature_names=list(forecaster.feature_names),
        offsets=np.asarray(forecaster.offsets, dtype=float),
        model_name=forecaster.name,
        extra_metadata=extra,
    )


def feature_params_metadata(forecaster: Forecaster) -> dict[str, str]:
    """``{"feature_params": JSON}`` when the forecaster knows the FeatureParams it was fitted on."""
    fparams = getattr(forecaster, "feature_params", None)
    return {FEATURE_PARAMS_KEY: json.dumps(fparams, sort_keys=True)} if fparams else {}


def estimator_graph(
    family: str, estimator: Any, names: list[str], reference: list[str]
) -> onnx.ModelProto:
    """The graph ``features [N, F] -> median [N, 1]`` of a fitted ``estimator`` of ``family``
    (``sklearn``, ``xgboost``, ``lightgbm``: named by the forecaster class, never guessed).

    Forecasters that learn a ratio to a reference load (``reference``, see
    :mod:`edip_ml.models.linear`) get it multiplied back by the first non-NaN reference column,
    exactly as their native ``_predict_median``.
    """
    onx = (
        sklearn_graph(estimator, len(names))
        if family == "sklearn"
        else boosting_graph(family, estimator, len(names))
    )
    present = [c for c in reference if c in names]
    if reference and not present:
        raise ExportError(f"none of the reference features {reference} is among the inputs")
    if present:
        multiply_by_reference(onx, [names.index(c) for c in present])
    return onx


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
