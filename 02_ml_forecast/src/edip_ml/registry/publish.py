"""Publishing a trained forecaster: ONNX export, parity check, MLflow run, registry version.

Why one function: a model reaches the registry only through ``export → parity → MLflow run →
register``, in that order, so a failure anywhere before the registration (a converter error, a
parity miss, the tracking server down) leaves the registry exactly as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edip_ml.export.onnx_export import check_parity, to_onnx
from edip_ml.registry.tracking import LoggedRun, log_training_run
from edip_ml.registry.versions import REGISTERED_MODEL, register

if TYPE_CHECKING:
    import onnx
    import pandas as pd
    from mlflow.entities.model_registry import ModelVersion

    from edip_ml.export.onnx_export import Forecaster

log = logging.getLogger(__name__)


@dataclass
class Published:
    """A forecaster that went through export, parity, logging and (optionally) registration."""

    run: LoggedRun
    parity_mw: float
    version: ModelVersion | None = None


def publish(
    forecaster: Forecaster,
    *,
    X_parity: pd.DataFrame,
    X_example: pd.DataFrame | None = None,
    onnx_model: onnx.ModelProto | None = None,
    register_model: bool = True,
    model_name: str = REGISTERED_MODEL,
    version_tags: Mapping[str, str] | None = None,
    **log_kwargs: Any,
) -> Published:
    """Export ``forecaster`` to ONNX, check parity on ``X_parity``, log the run, register it.

    Raises :class:`~edip_ml.export.onnx_export.ParityError` (nothing logged, nothing registered) when the
    export differs from the native model by more than 1 MW. ``onnx_model`` skips the export (an
    already exported graph). ``log_kwargs`` go to :func:`~edip_ml.registry.tracking.log_training_run`.
    """
    model = onnx_model if onnx_model is not None else to_onnx(forecaster)
    parity = check_parity(forecaster, model, X_parity)
    example = X_example if X_example is not None else X_parity
    run = log_training_run(forecaster, model, X_example=example, parity_mw=parity, **log_kwargs)
    version = (
        register(run.run_id, model_name=model_name, tags=dict(version_tags or {}))
        if register_model
        else None
    )
    return Published(run=run, parity_mw=parity, version=version)
