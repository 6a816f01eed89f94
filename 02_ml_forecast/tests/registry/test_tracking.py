"""What a training run records, on a REAL MLflow server: params, artifacts, native, ONNX."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from edip_ml.config import MLParams
from edip_ml.export.onnx_export import OnnxForecaster, to_onnx
from edip_ml.models import make_model
from edip_ml.registry.publish import publish
from edip_ml.registry.tracking import ONNX_URI_TAG, log_training_run
from edip_ml.registry.versions import CHALLENGER, load_version
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


def test_log_training_run_records_everything(
    tracking: str,
    sample_store: Store,
    train_xy: tuple[pd.DataFrame, pd.Series],
    tmp_path: Path,
    model_name: str,
) -> None:
    X, y = train_xy
    small = MLParams().with_overrides({"xgboost": {"n_estimators": 40, "n_jobs": 1}})
    f = make_model("xgboost", small, seed=0).fit(X, y)
    report = tmp_path / "report.md"
    report.write_text("| model | MAPE |\n|---|---|\n| xgboost | 2.0 |\n")
    import plotly.graph_objects as go

    published = publish(
        f,
        X_parity=X.tail(800),
        model_name=model_name,
        store=sample_store,
        params={"train": {"start": "2020-09-01", "end": "2020-11-30"}, "protocol": "day-ahead"},
        metrics={"mape": 2.0, "mae": 1000.0, "nan_metric": float("nan")},
        weather_source="observed-as-forecast",
        report_files=[report],
        figures={"backtest": go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))},
    )
    client = MlflowClient()
    run = client.get_run(published.run.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["model.n_estimators"] == "40"
    assert run.data.params["train.start"] == "2020-09-01"
    assert run.data.params["data_version"] == sample_store.data_version()
    assert run.data.metrics["mape"] == 2.0
    assert "nan_metric" not in run.data.metrics
    assert run.data.metrics["onnx_parity_max_abs_mw"] <= 1.0
    tags = run.data.tags
    assert tags["weather_source"] == "observed-as-forecast"
    assert tags["data_version"] == sample_store.data_version()
    assert len(tags["git_commit"]) in (40, len("unknown"))
    assert tags["edip.family"] == "xgboost"
    assert tags[ONNX_URI_TAG].startswith("models:/")

    def listing(path: str = "") -> set[str]:
        return {a.path for a in client.list_artifacts(run.info.run_id, path)}

    assert {
        "report",
        "plots",
        "importances",
        "data",
        "forecaster",
        "feature_contract.json",
    } <= listing()
    assert listing("report") == {"report/report.md"}
    assert listing("plots") == {"plots/backtest.html"}
    assert listing("importances") == {
        "importances/feature_importances.csv",
        "importances/feature_importances.html",
    }
    assert listing("data") == {"data/manifest.json"}
    contract = mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/feature_contract.json")
    assert contract["feature_names"] == f.feature_names
    assert contract["input"]["name"] == "features"
    csv = mlflow.artifacts.download_artifacts(
        f"runs:/{run.info.run_id}/importances/feature_importances.csv", dst_path=str(tmp_path)
    )
    importances = pd.read_csv(csv)
    assert set(importances["feature"]) <= set(f.feature_names)
    assert len(importances) > 5

    # native model in its flavour, ONNX model with signature and input example
    native = mlflow.xgboost.load_model(published.run.native_model_uri)
    rows = X.tail(5).to_numpy(np.float32)
    np.testing.assert_allclose(  # the estimator learns load / reference load
        native.predict(rows) * f.reference(rows), f.predict(X.tail(5))["p50"].to_numpy(), rtol=1e-6
    )
    pickled = mlflow.artifacts.download_artifacts(
        f"runs:/{run.info.run_id}/forecaster/forecaster.pkl", dst_path=str(tmp_path / "p")
    )
    restored = pickle.loads(Path(pickled).read_bytes())
    pd.testing.assert_frame_equal(restored.predict(X.tail(20)), f.predict(X.tail(20)))
    info = mlflow.models.get_model_info(published.run.onnx_model_uri)
    assert info.signature is not None
    assert info.signature.inputs.inputs[0].name == "features"
    assert info.signature.outputs.inputs[0].name == "quantiles"
    local = Path(
        mlflow.artifacts.download_artifacts(
            published.run.onnx_model_uri, dst_path=str(tmp_path / "m")
        )
    )
    assert (local / "input_example.json").is_file()
    served = OnnxForecaster(next(local.rglob("*.onnx")))
    assert served.feature_names == f.feature_names
    np.testing.assert_allclose(
        served.predict(X.tail(50)).to_numpy(), f.predict(X.tail(50)).to_numpy(), atol=1.0
    )
    # registered as challenger
    version = published.version
    assert version is not None
    assert CHALLENGER in version.aliases
    assert version.tags["run_id"] == run.info.run_id
    assert version.tags["weather_source"] == "observed-as-forecast"
    assert load_version(version.version, model_name=model_name).feature_names == f.feature_names


def test_feature_contract_json_matches_metadata(
    tracking: str, train_xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = train_xy
    f = baseline("load_same_hour_last_week", X, y)
    model = to_onnx(f)
    logged = log_training_run(f, model, X_example=X.tail(5), experiment="edip-contract-tests")
    contract = mlflow.artifacts.load_dict(f"runs:/{logged.run_id}/feature_contract.json")
    meta = {p.key: p.value for p in model.metadata_props}
    assert contract["feature_names"] == json.loads(meta["feature_names"])
    assert contract["output"]["name"] == "quantiles"
    assert contract["quantiles"] == [0.1, 0.5, 0.9]


def test_random_forest_native_model_logs_and_reloads(
    tracking: str,
    sample_store: Store,
    train_xy: tuple[pd.DataFrame, pd.Series],
    model_name: str,
) -> None:
    """sklearn tree models must round-trip through MLflow (skops would refuse to reload them)."""
    X, y = train_xy
    small = MLParams().with_overrides({"rf": {"n_estimators": 10, "max_depth": 6, "n_jobs": 1}})
    f = make_model("rf", small, seed=0).fit(X, y)
    published = publish(
        f,
        X_parity=X.tail(300),
        model_name=model_name,
        store=sample_store,
        params={"protocol": "day-ahead"},
        metrics={"mape": 2.5},
        weather_source="none",
    )
    native = mlflow.sklearn.load_model(published.run.native_model_uri)
    rows = X.tail(5).to_numpy(np.float32)
    np.testing.assert_allclose(
        native.predict(rows) * f.reference(rows), f.predict(X.tail(5))["p50"].to_numpy(), rtol=1e-6
    )
    assert published.version is not None
