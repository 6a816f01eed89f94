"""``edip`` ML commands through typer's CliRunner, against the real MLflow server."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from mlflow import MlflowClient
from typer.testing import CliRunner

from edip_ml import cli
from edip_ml.registry.publish import publish
from edip_ml.registry.versions import CHALLENGER, CHAMPION, version_by_alias
from edip_pipeline.config import reset_settings_cache
from edip_pipeline.store import Store

from . import mlflow_server as fixtures
from .mlflow_server import ColumnForecaster, sample_xy

mlflow_server = fixtures.mlflow_server
tracking = fixtures.tracking
model_name = fixtures.model_name
sample_data_dir = fixtures.sample_data_dir
sample_store = fixtures.sample_store

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _main() -> None:
        """edip (test)."""

    cli.register(app)
    return app


def test_register_reuses_the_train_group() -> None:
    app = typer.Typer()
    dl = typer.Typer()

    @dl.command("dl")
    def train_dl() -> None:
        """Deep learning (stand-in for edip_dl)."""

    app.add_typer(dl, name="train")  # another package registered "train" first
    cli.register(app)
    cli.register(app)  # idempotent
    groups = [g for g in app.registered_groups if g.name == "train"]
    assert len(groups) == 1
    assert groups[0].typer_instance is dl
    assert sorted(c.name or "" for c in dl.registered_commands) == ["dl", "intraday", "ml"]
    names = [c.name for c in app.registered_commands]
    assert names.count("backtest") == 1
    assert names.count("promote") == 1
    assert names.count("mlflow") == 1
    result = runner.invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    assert " ml " in result.output
    assert " dl " in result.output
    assert " intraday " in result.output


def test_edip_entry_point_has_the_ml_commands() -> None:
    from edip_pipeline.cli import app

    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("train", "backtest", "promote", "mlflow"):
        assert command in result.output
    result = runner.invoke(app, ["mlflow", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output


def test_param_overrides_and_bad_options() -> None:
    assert cli.parse_overrides(["xgboost.n_estimators=50", "xgboost.learning_rate=0.1"]) == {
        "xgboost": {"n_estimators": 50, "learning_rate": 0.1}
    }
    with pytest.raises(typer.BadParameter):
        cli.parse_overrides(["n_estimators=50"])
    app = _app()
    result = runner.invoke(app, ["backtest", "--family", "nosuchfamily", "--models", "x"])
    assert result.exit_code != 0
    assert "not installed" in result.output
    result = runner.invoke(app, ["backtest", "--protocol", "weekly"])
    assert result.exit_code != 0


def test_show_params_prints_values_and_search_ranges() -> None:
    """``--show-params``: the effective values (``--param`` applied) and each tunable field's
    range, read from the params class; nothing is trained."""
    args = ["train", "ml", "--models", "xgboost,gam", "--param", "xgboost.max_depth=4"]
    result = runner.invoke(_app(), [*args, "--show-params"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()}
    assert lines["max_depth"][:2] == ["4", "3..10"]
    assert lines["learning_rate"][:3] == ["0.05", "0.01..0.2", "log"]
    assert lines["knots"][:2] == ["8", "-"]  # the GAM is not tuned
    result = runner.invoke(_app(), ["train", "ml", "--models", "nope", "--show-params"])
    assert result.exit_code != 0


def test_the_default_model_list_is_params_yaml_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--models`` the commands take ``ml.models`` of params.yaml (written nowhere
    else); an empty list is a clear error, not a silent no-op."""
    params = tmp_path / "params.yaml"
    monkeypatch.setenv("EDIP_PARAMS_FILE", str(params))
    params.write_text("ml:\n  models: [ridge, gam]\n")
    reset_settings_cache()
    result = runner.invoke(_app(), ["train", "ml", "--show-params"])
    assert result.exit_code == 0, result.output
    assert [ln.split()[0] for ln in result.output.splitlines() if not ln.startswith(" ")] == [
        "ridge",
        "gam",
    ]
    params.write_text("ml: {}\n")
    reset_settings_cache()
    result = runner.invoke(_app(), ["train", "ml", "--show-params"])
    assert result.exit_code != 0
    assert "ml.models" in result.output


def test_promote_command(
    tracking: str, sample_store: Store, model_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app()
    args = ["promote", "--model-name", model_name, "--window-days", "14"]
    args += ["--end-day", "2020-12-15", "--max-mape", "0.10"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "no 'challenger'" in result.output

    X, y = sample_xy(sample_store, "2020-10-01", "2020-11-30")
    f = ColumnForecaster("load_lag_1d").fit(X, y)
    publish(f, X_parity=X.tail(300), model_name=model_name, store=sample_store)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "promoted: challenger v1 (MAPE 5." in result.output
    assert "Downloading artifacts" not in result.output
    champion = version_by_alias(CHAMPION, model_name=model_name)
    assert champion is not None
    assert str(champion.version) == "1"
    tags = MlflowClient().get_model_version(model_name, "1").tags
    assert tags["promotion_decision"] == "promoted"
    assert version_by_alias(CHALLENGER, model_name=model_name) is not None


def test_train_ml_then_promote(
    tracking: str, sample_store: Store, model_name: str, tmp_path: Path
) -> None:
    """``edip train ml && edip promote`` with their defaults: the challenger is judged on the
    evaluation window (the last ``eval_window_days`` of the store), days it was not trained on."""
    app = _app()
    args = ["train", "ml", "--models", "xgboost,same_hour_yesterday", "--tune", "2"]
    args += ["--start", "2020-06-01", "--backtest-days", "14"]
    args += ["--param", "xgboost.n_estimators=40", "--param", "xgboost.n_jobs=1"]
    args += ["--storage", f"sqlite:///{tmp_path / 'optuna.db'}", "--model-name", model_name]
    args += ["--report-dir", str(tmp_path / "reports")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "xgboost: backtest MAPE" in result.output
    assert "same_hour_yesterday: backtest MAPE" in result.output
    assert (tmp_path / "reports" / "xgboost" / "backtest_report.html").is_file()

    client = MlflowClient()
    versions = {
        v.tags["edip.model"]: v for v in client.search_model_versions(f"name='{model_name}'")
    }
    assert set(versions) == {"xgboost", "same_hour_yesterday"}
    best = min(versions.values(), key=lambda v: float(v.tags["backtest_mape"]))
    challenger = version_by_alias(CHALLENGER, model_name=model_name)
    assert challenger is not None
    assert challenger.version == best.version  # the batch's best keeps the alias
    run = client.get_run(versions["xgboost"].run_id)
    assert run.data.params["tuned_trials"] == "2"
    assert run.data.params["model.n_estimators"] == "40"  # fixed while tuning
    assert 0 < run.data.metrics["mape"] < 0.2
    assert run.data.tags["weather_source"] == "none"
    assert run.data.tags["data_version"] == sample_store.data_version()
    report = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert {
        "report/backtest_report.html",
        "report/backtest_report.md",
        "report/forecasts.parquet",
        "report/summary.csv",
    } <= report
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {"plots/backtest_forecasts.html"}

    # the sample ends 2020-12-31 and eval_window_days is 28: training stopped on 2020-12-03
    assert run.data.params["train_end"] == "2020-12-03"
    assert {v.tags["edip.train_end"] for v in versions.values()} == {"2020-12-03"}
    assert {v.tags["edip.train_start"] for v in versions.values()} == {"2020-06-01"}

    result = runner.invoke(app, ["promote", "--model-name", model_name, "--max-mape", "0.2"])
    assert result.exit_code == 0, result.output
    assert "promoted" in result.output
    assert "on 2020-12-04..2020-12-31" in result.output  # the held-out days, none trained on
    champion = version_by_alias(CHAMPION, model_name=model_name)
    assert champion is not None
    assert champion.version == best.version
    assert champion.tags["promotion_in_sample"] == "false"


def test_promote_refuses_a_challenger_trained_on_its_window(
    tracking: str, sample_store: Store, model_name: str
) -> None:
    """Trained up to the last day (``--end``), then promoted on the last 28 days: refused with a
    one-line reason, exit 1, no alias moved; ``--allow-overlap`` judges it, tagged in-sample."""
    app = _app()
    args = ["train", "ml", "--models", "same_hour_yesterday", "--model-name", model_name]
    args += ["--start", "2020-08-01", "--end", "2020-12-31", "--backtest-days", "7"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output

    promote = ["promote", "--model-name", model_name, "--max-mape", "0.2"]
    result = runner.invoke(app, promote)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "promotion failed: challenger v1 was trained up to 2020-12-31, inside its evaluation "
        "window 2020-12-04..2020-12-31: train with the default end (it holds the window out) "
        "or --end 2020-12-03"
    ]
    assert version_by_alias(CHAMPION, model_name=model_name) is None
    tags = MlflowClient().get_model_version(model_name, "1").tags
    assert "promotion_decision" not in tags

    result = runner.invoke(app, [*promote, "--end-day", "2020-12-31", "--window-days", "1"])
    assert result.exit_code == 1  # one day is enough: 2020-12-31 is a training day
    result = runner.invoke(app, [*promote, "--allow-overlap"])
    assert result.exit_code == 0, result.output
    tags = MlflowClient().get_model_version(model_name, "1").tags
    assert tags["promotion_in_sample"] == "true"


def test_train_failure_leaves_the_registry_unchanged(
    tracking: str, sample_store: Store, model_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model whose export fails parity is reported, not registered; the others still are."""
    from edip_ml.registry import publish as publishing

    real = publishing.to_onnx

    def tampered(forecaster: Any) -> Any:
        twin = copy.deepcopy(forecaster)
        twin.offsets = twin.offsets - 100.0
        return real(twin)

    monkeypatch.setattr(publishing, "to_onnx", tampered)
    app = _app()
    args = ["train", "ml", "--models", "same_hour_yesterday,no_such_model", "--model-name"]
    args += [model_name, "--start", "2020-08-01", "--end", "2020-12-31", "--backtest-days", "7"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "same_hour_yesterday: FAILED — ParityError" in result.output
    assert "no_such_model: FAILED" in result.output
    assert MlflowClient().search_model_versions(f"name='{model_name}'") == []
    assert version_by_alias(CHALLENGER, model_name=model_name) is None


def test_backtest_command(sample_store: Store, tmp_path: Path) -> None:
    from edip_ml.evaluation.metrics import COLUMNS

    out = tmp_path / "forecasts.parquet"
    args = ["backtest", "--family", "ml", "--models", "same_hour_yesterday", "--start"]
    args += ["2020-12-01", "--end", "2020-12-07", "--out", str(out), "--report-dir"]
    args += [str(tmp_path / "reports")]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert list(frame.columns) == list(COLUMNS)
    assert "same_hour_yesterday" in set(frame["model"])
    assert frame["actual"].notna().all()
    assert (tmp_path / "reports" / "backtest_report.html").is_file()


def test_backtest_options_override_params(sample_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "forecasts.parquet"
    args = ["backtest", "--models", "lightgbm", "--start", "2020-12-01", "--end", "2020-12-03"]
    args += ["--out", str(out), "--weather", "none", "--baselines", "same_hour_yesterday"]
    args += ["--n-jobs", "1", "--train-start", "2020-09-01"]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert set(frame["model"]) >= {"lightgbm", "same_hour_yesterday"}
    assert "ridge" not in set(frame["model"])
    first = pd.Timestamp(frame.attrs["folds"][0]["train_first_target"]).tz_convert("Europe/Paris")
    assert first == pd.Timestamp("2020-09-01", tz="Europe/Paris")
    assert frame.attrs["weather_source"] == "none"
    assert frame.attrs["train_weather_share"] == 0.0

    short = ["backtest", "--models", "same_hour_last_week", *args[3:7], "--out", str(out)]
    result = runner.invoke(_app(), [*short, "--baselines", "none", "--weather", "none"])
    assert result.exit_code == 0, result.output
    assert set(pd.read_parquet(out)["model"]) <= {"same_hour_last_week", "rte_d1"}
    result = runner.invoke(_app(), ["backtest", "--weather", "sunny"])
    assert result.exit_code == 2
    assert "--weather must be one of" in result.output


def test_mlflow_command_runs_the_server_in_the_foreground(tmp_path: Path) -> None:
    """``edip mlflow`` serves until Ctrl-C (SIGINT), then takes its worker down with it."""
    import signal
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    from .mlflow_server import free_port

    port = free_port()
    log_path = tmp_path / "out.log"
    with log_path.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edip_pipeline.cli", "mlflow", "--port", str(port)],
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    banner = f"MLflow tracking server on http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while banner not in log_path.read_text(errors="replace"):  # printed once /health is OK
            assert proc.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            assert r.status == 200
        assert (tmp_path / "mlruns" / "mlflow.db").is_file()  # the default SQLite backend
        assert (tmp_path / "mlartifacts").is_dir()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
