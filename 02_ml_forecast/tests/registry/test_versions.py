"""Registry access against a REAL MLflow server: what :func:`register` refuses."""

from __future__ import annotations

import mlflow
import pytest

from edip_ml.registry.versions import CHALLENGER, RegistryError, register, version_by_alias

from .. import mlflow_server as fixtures

mlflow_server = fixtures.mlflow_server
tracking = fixtures.tracking
model_name = fixtures.model_name


def test_register_refuses_runs_without_a_finished_onnx_model(
    tracking: str, model_name: str
) -> None:
    mlflow.set_experiment("edip-registry-tests")
    with mlflow.start_run() as run:
        mlflow.log_param("x", 1)
    with pytest.raises(RegistryError, match="no ONNX model"):
        register(run.info.run_id, model_name=model_name)
    with pytest.raises(RuntimeError), mlflow.start_run() as failed:
        raise RuntimeError("training crashed")
    with pytest.raises(RegistryError, match="FAILED"):
        register(failed.info.run_id, model_name=model_name)
    assert version_by_alias(CHALLENGER, model_name=model_name) is None
