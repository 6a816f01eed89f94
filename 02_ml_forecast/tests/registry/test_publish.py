"""Publishing against a REAL MLflow server: a parity miss or a failed run registers nothing."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from edip_ml.export.onnx_export import ParityError, to_onnx
from edip_ml.registry.publish import publish
from edip_ml.registry.versions import CHALLENGER, version_by_alias
from edip_pipeline.store import Store

from .. import mlflow_server as fixtures
from .. import registry_helpers as helpers

mlflow_server = fixtures.mlflow_server
tracking = fixtures.tracking
model_name = fixtures.model_name
sample_data_dir = fixtures.sample_data_dir
sample_store = fixtures.sample_store
train_xy = helpers.train_xy
baseline = helpers.baseline
publish_version = helpers.publish_version


def test_parity_failure_is_not_registered(
    tracking: str, sample_store: Store, train_xy: tuple[pd.DataFrame, pd.Series], model_name: str
) -> None:
    X, y = train_xy
    good = baseline("load_lag_1d", X, y)
    v1 = publish_version(good, X, model_name, sample_store)
    client = MlflowClient()
    runs_before = len(mlflow.search_runs(search_all_experiments=True))

    tampered = baseline("load_lag_1d", X, y)
    exported = to_onnx(tampered)
    tampered.offsets = tampered.offsets * 3.0  # the export no longer matches the native model
    with pytest.raises(ParityError):
        publish(tampered, X_parity=X.tail(500), onnx_model=exported, model_name=model_name)

    versions = client.search_model_versions(f"name='{model_name}'")
    assert [str(v.version) for v in versions] == [v1]
    assert str(version_by_alias(CHALLENGER, model_name=model_name).version) == v1  # type: ignore[union-attr]
    assert len(mlflow.search_runs(search_all_experiments=True)) == runs_before


def test_failed_logging_leaves_no_registered_version(
    tracking: str, train_xy: tuple[pd.DataFrame, pd.Series], model_name: str, tmp_path: Path
) -> None:
    X, y = train_xy
    f = baseline("load_lag_1d", X, y)
    with pytest.raises(FileNotFoundError):
        publish(
            f, X_parity=X.tail(200), model_name=model_name, report_files=[tmp_path / "absent.html"]
        )
    failed = mlflow.search_runs(
        search_all_experiments=True, filter_string="attributes.status = 'FAILED'"
    )
    assert len(failed) >= 1
    assert MlflowClient().search_model_versions(f"name='{model_name}'") == []
