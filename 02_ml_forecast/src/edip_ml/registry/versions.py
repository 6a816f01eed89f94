"""The MLflow model registry: ``edip-load-fr`` versions, ``challenger`` and ``champion`` aliases.

Why: the API serves ``models:/edip-load-fr@champion``; the registry is the only hand-over between
training and serving, so access to it goes through here. :func:`register` turns a finished
training run's ONNX model into a new version and points ``challenger`` at it (called only after
the parity check passed and the run was logged); :func:`load_version` gives a version back as
served (its ONNX file under onnxruntime). Moving ``champion`` is :mod:`edip_ml.evaluation.promotion`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edip_ml.export.onnx_export import OnnxForecaster
from edip_ml.registry.tracking import ONNX_URI_TAG
from edip_pipeline.registry_names import (  # noqa: F401  (re-exported: written once there)
    CHALLENGER,
    CHAMPION,
    REGISTERED_MODEL,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

log = logging.getLogger(__name__)


class RegistryError(RuntimeError):
    """The registry cannot do what was asked (no finished run, no challenger, no data, …)."""


def mlflow_client(client: MlflowClient | None = None) -> MlflowClient:
    """``client``, or one for the configured tracking/registry URI."""
    if client is not None:
        return client
    from mlflow import MlflowClient

    return MlflowClient()


def version_by_alias(
    alias: str, *, model_name: str = REGISTERED_MODEL, client: MlflowClient | None = None
) -> ModelVersion | None:
    """The version an alias points at, or ``None`` (no such alias or no such model)."""
    from mlflow.exceptions import MlflowException

    c = mlflow_client(client)
    try:
        return c.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if exc.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}:
            return None
        raise


# ---------------------------------------------------------------------------------------------
# register
# ---------------------------------------------------------------------------------------------
def register(
    run_id: str,
    *,
    model_name: str = REGISTERED_MODEL,
    alias: str = CHALLENGER,
    tags: dict[str, str] | None = None,
    client: MlflowClient | None = None,
) -> ModelVersion:
    """New version of ``model_name`` from the run's ONNX model, then ``alias`` → that version.

    The run must be FINISHED and carry the ONNX model logged by
    :func:`edip_ml.registry.tracking.log_training_run`. If setting the alias fails, the new version is
    deleted again so that a failure leaves the registry as it was.
    """
    import mlflow

    c = mlflow_client(client)
    run = c.get_run(run_id)
    if run.info.status != "FINISHED":
        raise RegistryError(f"run {run_id} is {run.info.status}, not FINISHED: not registering it")
    source = run.data.tags.get(ONNX_URI_TAG)
    if not source:
        raise RegistryError(f"run {run_id} has no ONNX model (tag {ONNX_URI_TAG} missing)")
    version_tags = {
        "edip.model": run.data.tags.get("edip.model", ""),
        "edip.family": run.data.tags.get("edip.family", ""),
        "weather_source": run.data.tags.get("weather_source", ""),
        "data_version": run.data.tags.get("data_version", ""),
        "git_commit": run.data.tags.get("git_commit", ""),
        "run_id": run_id,
    }
    version_tags.update(tags or {})
    mv = mlflow.register_model(
        source, model_name, tags={k: v for k, v in version_tags.items() if v}
    )
    try:
        c.set_registered_model_alias(model_name, alias, mv.version)
    except Exception:
        log.exception("setting alias %s failed: deleting version %s again", alias, mv.version)
        c.delete_model_version(model_name, mv.version)
        raise
    log.info("registered %s version %s (%s) from run %s", model_name, mv.version, alias, run_id)
    return c.get_model_version(model_name, mv.version)


def load_version(
    version: str, *, model_name: str = REGISTERED_MODEL, dst: Path | None = None
) -> OnnxForecaster:
    """Download a registered version's ONNX file and load it with onnxruntime."""
    import mlflow

    # progress bars would clutter the CLI output and logs of `edip promote`
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    target = dst or Path(tempfile.mkdtemp(prefix="edip-onnx-"))
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{model_name}/{version}", dst_path=str(target)
        )
    )
    files = sorted(local.rglob("*.onnx")) if local.is_dir() else [local]
    if not files:
        raise RegistryError(f"{model_name} version {version} holds no .onnx file")
    return OnnxForecaster(files[0])


def load_native(
    version: str, *, model_name: str = REGISTERED_MODEL, client: MlflowClient | None = None
) -> Any:
    """The pickled forecaster a registered version was exported from (its training run's
    ``forecaster/forecaster.pkl``): what the loop decomposes with the model library, since the
    ONNX graph the API serves carries no per-feature contributions. Unpickling needs the
    training stack (and ``edip_dl`` for a network)."""
    import pickle

    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mv = mlflow_client(client).get_model_version(model_name, version)
    run_id = mv.run_id or mv.tags.get("run_id")
    if not run_id:
        raise RegistryError(f"{model_name} version {version} names no training run")
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id,
        artifact_path="forecaster/forecaster.pkl",
        dst_path=tempfile.mkdtemp(prefix="edip-native-"),
    )
    return pickle.loads(Path(local).read_bytes())
