"""Options and helpers shared by every ``edip train <family>`` command (``edip_ml.cli``,
``edip_ml.cli_intraday``, ``edip_dl``): one definition of each flag."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from edip_ml.training.train import TrainResult

# -- options shared by every ``edip train <family>`` command (edip_dl imports them) ------------
StartOption = Annotated[str | None, typer.Option(help="First target day (Paris).")]
EndOption = Annotated[str | None, typer.Option(help="Last target day (Paris, inclusive).")]
BacktestDaysOption = Annotated[
    int | None, typer.Option(help="Days at the end of the period backtested for the report.")
]
StorageOption = Annotated[
    str | None, typer.Option(help="Optuna RDB storage URL (SQLite default; PostgreSQL).")
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option(help="Hyper-parameter override MODEL.NAME=VALUE (repeatable)."),
]
ReportDirOption = Annotated[Path | None, typer.Option(help="Also keep the reports in this folder.")]
RegisterOption = Annotated[
    bool, typer.Option("--register/--no-register", help="Register versions as challenger.")
]
ExperimentOption = Annotated[str | None, typer.Option(help="MLflow experiment name.")]
ModelNameOption = Annotated[
    str | None, typer.Option(help="Registered model name (default edip-load-fr).")
]
ShowParamsOption = Annotated[
    bool,
    typer.Option(
        "--show-params",
        help="Print each model's hyper-parameters (params.yaml and --param applied) with the "
        "Optuna search range of the tunable ones, and exit.",
    ),
]


def _split(models: str) -> list[str]:
    names = [m.strip() for m in models.split(",") if m.strip()]
    if not names:
        raise typer.BadParameter("--models needs at least one model name")
    return names


def model_names(models: str | None, default: Sequence[str], section: str) -> list[str]:
    """``--models``, else the default list of ``params.yaml`` (``section``, e.g. ``ml.models``):
    the one place that list is written."""
    if models is not None:
        return _split(models)
    if not default:
        raise typer.BadParameter(f"no models: give --models or set {section} in params.yaml")
    return list(default)


#: ``--models`` of the train and backtest commands: the family's list in params.yaml by default
ModelsOption = Annotated[
    str | None,
    typer.Option(help="Comma-separated model names (default: ml.models / dl.models, params.yaml)."),
]


def parse_overrides(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["xgboost.n_estimators=50", …]`` → ``{"xgboost": {"n_estimators": 50}}`` (YAML values)."""
    import yaml

    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        model, dot, param = key.partition(".")
        if not sep or not dot or not model or not param:
            raise typer.BadParameter(f"--param expects MODEL.NAME=VALUE, got {item!r}")
        out.setdefault(model.strip(), {})[param.strip()] = yaml.safe_load(raw)
    return out


def echo_results(results: Sequence[TrainResult]) -> None:
    """One line per model trained; exit code 1 when any failed (the others are still registered)."""
    for r in results:
        typer.echo(r.summary())
    if any(not r.ok for r in results):
        raise typer.Exit(code=1)
