"""``edip train dl`` / ``edip backtest --family dl`` / ``edip compare`` end to end, against a
REAL MLflow server (the fixture of 02_ml_forecast/tests/mlflow_server.py, reused)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest
import typer
from mlflow import MlflowClient
from typer.testing import CliRunner

from edip_dl import cli as dl_cli
from edip_ml import cli as ml_cli
from edip_ml.evaluation.backtest_files import read_forecasts
from edip_ml.evaluation.promotion import promote
from edip_ml.registry.versions import CHALLENGER, load_version, version_by_alias
from edip_pipeline.config import reset_settings_cache
from edip_pipeline.store import Store

from .conftest import REPO_ROOT, tiny_dl, write_params


def _load_ml_fixtures():  # type: ignore[no-untyped-def]
    """02_ml_forecast/tests/mlflow_server.py (a directory name Python cannot import by name)."""
    path = REPO_ROOT / "02_ml_forecast" / "tests" / "mlflow_server.py"
    spec = importlib.util.spec_from_file_location("edip_ml_test_mlflow_server", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_fx = _load_ml_fixtures()
mlflow_server = _fx.mlflow_server
tracking = _fx.tracking
model_name = _fx.model_name

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _main() -> None:
        """edip (test)."""

    ml_cli.register(app)
    dl_cli.register(app)
    return app


@pytest.fixture
def dl_env(sample_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The sample store as EDIP_DATA_DIR and a params.yaml with tiny DL models."""
    params = write_params(tmp_path / "params.yaml", tiny_dl())
    monkeypatch.setenv("EDIP_DATA_DIR", str(sample_data_dir))
    monkeypatch.setenv("EDIP_PARAMS_FILE", str(params))
    reset_settings_cache()
    return Store()


def test_train_dl_registers_an_onnx_version_then_promotes(
    tracking: str, dl_env: Store, model_name: str, tmp_path: Path
) -> None:
    args = ["train", "dl", "--models", "tcn", "--epochs", "2", "--device", "cpu"]
    args += ["--start", "2019-11-01", "--end", "2020-04-30", "--backtest-days", "7"]
    args += ["--model-name", model_name, "--report-dir", str(tmp_path / "reports")]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "tcn: backtest MAPE" in result.output
    assert "ONNX parity" in result.output
    client = MlflowClient()
    (version,) = client.search_model_versions(f"name='{model_name}'")
    assert version.tags["edip.model"] == "tcn"
    assert version_by_alias(CHALLENGER, model_name=model_name) is not None
    run = client.get_run(version.run_id)
    assert run.data.tags["edip.family"] == "torch"
    assert run.data.tags["edip.architecture"] == "tcn"
    assert run.data.tags["data_version"] == dl_env.data_version()
    assert run.data.params["model.hidden_size"] == "16"
    assert float(run.data.tags["edip.onnx_parity_mw"]) <= 1.0
    curve = client.get_metric_history(run.info.run_id, "val_loss")
    assert [m.step for m in curve] == [1, 2]
    native = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert {"model/tcn_state_dict.pt", "model/tcn_config.json"} <= native
    served = load_version(str(version.version), model_name=model_name, dst=tmp_path / "v")
    assert served.metadata["edip_family"] == "torch"
    assert served.feature_params is not None
    assert served.feature_params["window_h"] == 48
    # the same promotion gate as the trees: evaluated with the model's own feature params
    decision = promote(dl_env, model_name=model_name, window_days=7, max_mape=0.5)
    assert decision.promoted, decision.reason


def test_diverging_training_registers_nothing(
    tracking: str, dl_env: Store, model_name: str
) -> None:
    args = ["train", "dl", "--models", "tcn", "--epochs", "2", "--device", "cpu"]
    args += ["--param", "tcn.learning_rate=1e30", "--param", "tcn.grad_clip=1e30"]
    args += ["--start", "2019-11-01", "--end", "2020-04-30", "--backtest-days", "7"]
    args += ["--model-name", model_name]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 1, result.output
    assert "tcn: FAILED" in result.output
    assert "diverged" in result.output
    assert MlflowClient().search_model_versions(f"name='{model_name}'") == []


def test_cuda_without_gpu_and_unknown_model_are_clear_errors(dl_env: Store) -> None:
    import torch

    if not torch.cuda.is_available():
        result = runner.invoke(_app(), ["train", "dl", "--models", "tcn", "--device", "cuda"])
        assert result.exit_code == 2
        assert "no CUDA GPU" in result.output
    result = runner.invoke(_app(), ["train", "dl", "--models", "mamba"])
    assert result.exit_code == 2
    assert "unknown DL model" in result.output


def test_backtest_family_dl_then_compare_with_ml(dl_env: Store, tmp_path: Path) -> None:
    out = tmp_path / "dl.parquet"
    args = ["backtest", "--family", "dl", "--models", "tcn,transformer"]
    args += ["--start", "2020-04-17", "--end", "2020-04-30", "--out", str(out)]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    dl = read_forecasts(out)
    assert set(dl["model"]) >= {"tcn", "transformer", "same_hour_last_week"}
    assert dl.loc[dl["model"] == "tcn", "p50"].notna().all()
    assert (dl["p10"] <= dl["p50"]).all()

    ml_out = tmp_path / "ml.parquet"
    args = ["backtest", "--family", "ml", "--models", "ridge"]
    args += ["--start", "2020-04-17", "--end", "2020-04-30", "--out", str(ml_out)]
    assert runner.invoke(_app(), args).exit_code == 0

    report = tmp_path / "compare"
    args = ["compare", "--ml", "", "--dl", "", "--forecasts", f"{out},{ml_out}"]
    args += ["--out-dir", str(report)]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    ranking = pd.read_csv(report / "ranking.csv", index_col=0)
    assert {"tcn", "transformer", "ridge", "same_hour_last_week"} <= set(ranking.index)
    assert set(ranking["family"]) >= {"ml", "dl", "baseline"}
    assert list(ranking["mape"]) == sorted(ranking["mape"])
    assert list(ranking["rank"]) == list(range(1, len(ranking) + 1))
    assert (report / "ranking.md").is_file()
