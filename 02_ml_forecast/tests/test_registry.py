"""Tracking and registry against a REAL MLflow server: logging, register, promote, failures."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from edip_ml.config import MLParams
from edip_ml.models import make_model
from edip_ml.onnx_export import OnnxForecaster, ParityError, to_onnx
from edip_ml.registry import (
    CHALLENGER,
    CHAMPION,
    RegistryError,
    evaluation_window,
    load_version,
    promote,
    register,
    version_by_alias,
)
from edip_ml.tracking import ONNX_URI_TAG, log_training_run, tracking_uri
from edip_ml.train import publish
from edip_pipeline.store import Store

from . import mlflow_server as fixtures
from .mlflow_server import ColumnForecaster, sample_xy

mlflow_server = fixtures.mlflow_server
tracking = fixtures.tracking
model_name = fixtures.model_name
sample_data_dir = fixtures.sample_data_dir
sample_store = fixtures.sample_store

#: evaluation window used by the promotion tests (two ordinary weeks of the sample)
WINDOW = {"window_days": 14, "end_day": "2020-12-15"}


@pytest.fixture(scope="module")
def train_xy(sample_data_dir: Path) -> tuple[pd.DataFrame, pd.Series]:
    from edip_pipeline.config import Settings, load_params

    params_file = Path(__file__).resolve().parents[2] / "params.yaml"
    store = Store(
        sample_data_dir,
        load_params(params_file),
        Settings(data_dir=sample_data_dir, params_file=params_file),
    )
    return sample_xy(store, "2020-09-01", "2020-11-30")


def _baseline(column: str, X: pd.DataFrame, y: pd.Series) -> ColumnForecaster:
    f = ColumnForecaster(column)
    f.name = "same_hour_yesterday" if column == "load_lag_1d" else "same_hour_last_week"  # type: ignore[misc]
    return f.fit(X, y)  # type: ignore[return-value]


def _publish(f: ColumnForecaster, X: pd.DataFrame, name: str, store: Store) -> str:
    published = publish(
        f, X_parity=X.tail(500), model_name=name, store=store, weather_source="none"
    )
    assert published.version is not None
    return str(published.version.version)


def test_tracking_uri_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri() == "http://127.0.0.1:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://example.invalid:1234")
    assert tracking_uri() == "http://example.invalid:1234"


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


def test_promotion_decisions(
    tracking: str,
    sample_store: Store,
    train_xy: tuple[pd.DataFrame, pd.Series],
    model_name: str,
) -> None:
    X, y = train_xy
    client = MlflowClient()
    with pytest.raises(RegistryError, match="no 'challenger'"):
        promote(sample_store, model_name=model_name, **WINDOW)

    # a first challenger failing the absolute gate does not become champion
    v_bad = _publish(_baseline("load_roll_min_168h", X, y), X, model_name, sample_store)
    d = promote(sample_store, model_name=model_name, max_mape=0.10, tolerance=0.02, **WINDOW)
    assert d.decision == "rejected"
    assert "absolute gate" in d.reason
    assert version_by_alias(CHAMPION, model_name=model_name) is None
    assert client.get_model_version(model_name, v_bad).tags["promotion_decision"] == "rejected"

    # the first version passing the gate becomes champion
    v1 = _publish(_baseline("load_lag_1d", X, y), X, model_name, sample_store)
    d = promote(sample_store, model_name=model_name, max_mape=0.10, tolerance=0.02, **WINDOW)
    assert d.promoted
    assert d.champion_version is None
    assert "no champion yet" in d.reason
    assert str(version_by_alias(CHAMPION, model_name=model_name).version) == v1  # type: ignore[union-attr]
    tags = client.get_model_version(model_name, v1).tags
    assert tags["promotion_decision"] == "promoted"
    assert float(tags["promotion_mape_challenger"]) == pytest.approx(d.mape_challenger, abs=1e-5)
    assert tags["promotion_mape_champion"] == "none"
    assert "promotion_timestamp" in tags
    assert tags["promotion_window"].startswith("2020-12-02")

    # promoting again: nothing to do
    assert promote(sample_store, model_name=model_name, **WINDOW).decision == "unchanged"

    # a worse challenger is not promoted, and the tags say why
    v2 = _publish(_baseline("load_same_hour_last_week", X, y), X, model_name, sample_store)
    d = promote(sample_store, model_name=model_name, max_mape=0.10, tolerance=0.02, **WINDOW)
    assert d.decision == "rejected"
    assert d.champion_version == v1
    assert d.mape_challenger is not None
    assert d.mape_champion is not None
    assert d.mape_challenger > d.mape_champion * 1.02
    tags = client.get_model_version(model_name, v2).tags
    assert tags["promotion_decision"] == "rejected"
    assert "worse than champion" in tags["promotion_reason"]
    assert float(tags["promotion_mape_champion"]) == pytest.approx(d.mape_champion, abs=1e-5)
    assert str(version_by_alias(CHAMPION, model_name=model_name).version) == v1  # type: ignore[union-attr]
    assert str(version_by_alias(CHALLENGER, model_name=model_name).version) == v2  # type: ignore[union-attr]

    # within tolerance of the champion but over the absolute gate: champion unchanged
    v3 = _publish(_baseline("load_lag_1d", X, y), X, model_name, sample_store)
    d = promote(sample_store, model_name=model_name, max_mape=0.01, tolerance=0.5, **WINDOW)
    assert d.decision == "rejected"
    assert "absolute gate" in d.reason
    assert str(version_by_alias(CHAMPION, model_name=model_name).version) == v1  # type: ignore[union-attr]

    # same quality, generous gate: promoted over the champion
    d = promote(sample_store, model_name=model_name, max_mape=0.10, tolerance=0.02, **WINDOW)
    assert d.promoted
    assert d.champion_version == v1
    assert str(version_by_alias(CHAMPION, model_name=model_name).version) == v3  # type: ignore[union-attr]


def test_parity_failure_is_not_registered(
    tracking: str, sample_store: Store, train_xy: tuple[pd.DataFrame, pd.Series], model_name: str
) -> None:
    X, y = train_xy
    good = _baseline("load_lag_1d", X, y)
    v1 = _publish(good, X, model_name, sample_store)
    client = MlflowClient()
    runs_before = len(mlflow.search_runs(search_all_experiments=True))

    tampered = _baseline("load_lag_1d", X, y)
    exported = to_onnx(tampered)
    tampered.offsets = tampered.offsets * 3.0  # the export no longer matches the native model
    with pytest.raises(ParityError):
        publish(tampered, X_parity=X.tail(500), onnx_model=exported, model_name=model_name)

    versions = client.search_model_versions(f"name='{model_name}'")
    assert [str(v.version) for v in versions] == [v1]
    assert str(version_by_alias(CHALLENGER, model_name=model_name).version) == v1  # type: ignore[union-attr]
    assert len(mlflow.search_runs(search_all_experiments=True)) == runs_before


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


def test_failed_logging_leaves_no_registered_version(
    tracking: str, train_xy: tuple[pd.DataFrame, pd.Series], model_name: str, tmp_path: Path
) -> None:
    X, y = train_xy
    f = _baseline("load_lag_1d", X, y)
    with pytest.raises(FileNotFoundError):
        publish(
            f, X_parity=X.tail(200), model_name=model_name, report_files=[tmp_path / "absent.html"]
        )
    failed = mlflow.search_runs(
        search_all_experiments=True, filter_string="attributes.status = 'FAILED'"
    )
    assert len(failed) >= 1
    assert MlflowClient().search_model_versions(f"name='{model_name}'") == []


def test_evaluation_window_is_the_last_complete_days(sample_store: Store) -> None:
    w = evaluation_window(sample_store, 7)
    assert str(w.end_day.date()) == "2020-12-31"
    assert str(w.start_day.date()) == "2020-12-25"
    assert len(w.y) == 7 * 24
    assert w.y.notna().all()
    assert w.weather_source == "none"
    origins = w.X.index.get_level_values("origin")
    targets = w.X.index.get_level_values("target_time")
    assert ((targets - origins) >= pd.Timedelta(hours=11)).all()  # day-ahead: issued D-1 noon
    with pytest.raises(RegistryError, match="no actual load"):
        evaluation_window(sample_store, 3, end_day="2030-01-10")


def test_feature_contract_json_matches_metadata(
    tracking: str, train_xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = train_xy
    f = _baseline("load_same_hour_last_week", X, y)
    model = to_onnx(f)
    logged = log_training_run(f, model, X_example=X.tail(5), experiment="edip-contract-tests")
    contract = mlflow.artifacts.load_dict(f"runs:/{logged.run_id}/feature_contract.json")
    meta = {p.key: p.value for p in model.metadata_props}
    assert contract["feature_names"] == json.loads(meta["feature_names"])
    assert contract["output"]["name"] == "quantiles"
    assert contract["quantiles"] == [0.1, 0.5, 0.9]


def test_challenger_needing_absent_features_is_rejected(
    tracking: str,
    sample_store: Store,
    train_xy: tuple[pd.DataFrame, pd.Series],
    model_name: str,
) -> None:
    X, y = train_xy
    v1 = _publish(_baseline("load_lag_1d", X, y), X, model_name, sample_store)
    promote(sample_store, model_name=model_name, max_mape=0.10, **WINDOW)
    wide = X.assign(load_lag_21d=X["load_lag_14d"])  # a feature the store cannot build
    v2 = _publish(_baseline("load_lag_1d", wide, y), wide, model_name, sample_store)
    d = promote(sample_store, model_name=model_name, max_mape=0.10, **WINDOW)
    assert d.decision == "rejected"
    assert "load_lag_21d" in d.reason
    champion = version_by_alias(CHAMPION, model_name=model_name)
    assert champion is not None
    assert str(champion.version) == v1
    assert MlflowClient().get_model_version(model_name, v2).tags["promotion_decision"] == "rejected"


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
