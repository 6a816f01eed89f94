"""``edip`` commands of the DL package (entry point ``edip.cli`` → :func:`register`).

* ``edip train dl [--models lstm,gru,tcn,transformer] [--epochs N] [--tune N] [--device …]
  [--show-params]``
* ``edip backtest --family dl --models lstm … --out forecasts.parquet``
* ``edip compare [--ml rf,xgboost,lightgbm] [--dl lstm] [--forecasts a.parquet,b.parquet]``

Heavy imports (torch, mlflow) happen inside the commands so ``edip --help`` stays fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edip_ml.cli import (
    BACKTEST_FAMILIES,
    PROTOCOLS,
    BacktestDaysOption,
    EndOption,
    ExperimentOption,
    ModelNameOption,
    RegisterOption,
    ReportDirOption,
    ShowParamsOption,
    StartOption,
    StorageOption,
    echo_params,
    echo_results,
    get_or_create_group,
    has_command,
    model_names,
    parse_overrides,
)

if TYPE_CHECKING:
    from edip_dl.config import DLParams

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")


def register(app: typer.Typer) -> None:
    """Add ``train dl``, the ``dl`` backtest family and ``compare`` to the ``edip`` app."""
    train_app = get_or_create_group(
        app, "train", "Train forecasters, log them to MLflow and register them as challenger."
    )
    if not has_command(train_app, "dl"):
        train_app.command("dl")(train_dl)
    BACKTEST_FAMILIES.setdefault("dl", _backtest_dl)
    if not has_command(app, "compare"):
        app.command("compare")(compare)


def _dl_params(
    param: list[str] | None, epochs: int | None = None, device: str | None = None
) -> DLParams:
    from edip_dl.config import load_dl_params

    dl = load_dl_params()
    overrides = parse_overrides(param)
    if overrides:
        dl = dl.with_overrides(overrides)
    return dl.for_all(epochs=epochs, device=device)


def _resolve(
    models: str | None, param: list[str] | None, epochs: int | None, device: str | None
) -> tuple[DLParams, list[str]]:
    """The DL params (params.yaml, ``--param``, ``--epochs``, ``--device``) and the names to
    train; a clear error (exit code 2) for an unusable device or a bad override."""
    from edip_dl.device import DeviceError, resolve_device

    if device is not None and device not in DEVICES:
        raise typer.BadParameter(f"--device must be one of {list(DEVICES)}")
    try:
        if device is not None:
            resolve_device(device)
        dl = _dl_params(param, epochs, device)
        return dl, model_names(models, dl.models, "dl.models")
    except (DeviceError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc


def train_dl(
    models: Annotated[
        str | None, typer.Option(help="Comma-separated architectures (default dl.models).")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(help="Maximum epochs (overrides dl.<arch>.epochs).")
    ] = None,
    tune: Annotated[int, typer.Option(help="Optuna trials per architecture (0: no tuning).")] = 0,
    device: Annotated[
        str | None, typer.Option(help="auto, cpu or cuda (default dl.<arch>.device).")
    ] = None,
    start: StartOption = None,
    end: EndOption = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="Override ARCH.NAME=VALUE (repeatable), e.g. lstm.hidden_size=32."),
    ] = None,
    backtest_days: BacktestDaysOption = None,
    storage: StorageOption = None,
    report_dir: ReportDirOption = None,
    register_models: RegisterOption = True,
    experiment: ExperimentOption = None,
    model_name: ModelNameOption = None,
    show_params: ShowParamsOption = False,
) -> None:
    """Train sequence models, export ONNX (parity ≤ 1 MW), log to MLflow, register as challenger."""
    from edip_dl.train import train_dl as run
    from edip_ml.registry.tracking_server import configure

    dl, names = _resolve(models, param, epochs, device)
    if show_params:
        from edip_dl.config import to_ml_params

        echo_params(names, to_ml_params(dl))
        return
    uri = configure()
    log.info("MLflow tracking at %s", uri)
    try:
        results = run(
            names,
            start,
            end,
            tune=tune,
            dl_params=dl,
            backtest_days=backtest_days,
            tuning_storage=storage,
            report_dir=report_dir,
            register_models=register_models,
            experiment=experiment,
            model_name=model_name,
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    echo_results(results)


def _backtest_dl(
    models: str | None,
    start: str | None,
    end: str | None,
    protocol: str,
    out: Path,
    report_dir: Path | None,
) -> None:
    from edip_dl.config import load_dl_params
    from edip_dl.train import backtest_dl_to_files

    dl = load_dl_params()
    names = model_names(models, dl.models, "dl.models")
    try:
        paths = backtest_dl_to_files(
            names, start, end, protocol=protocol, out=out, report_dir=report_dir, dl_params=dl
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for p in paths:
        typer.echo(f"written {p}")


def _listed(option: str, default: list[str]) -> list[str]:
    """A ``--ml``/``--dl`` value: ``default`` (params.yaml's list) for "default", else its names."""
    if option == "default":
        return list(default)
    return [m.strip() for m in option.split(",") if m.strip()]


def compare(
    ml: Annotated[
        str, typer.Option(help="ML models to backtest ('' for none; default ml.models).")
    ] = "default",
    dl: Annotated[
        str, typer.Option(help="DL models to backtest ('' for none; default dl.models).")
    ] = "default",
    forecasts: Annotated[
        str,
        typer.Option(
            help="Comma-separated forecasts parquet files to include (edip backtest --out); "
            "a folder stands for every forecasts.parquet under it (edip train --report-dir)."
        ),
    ] = "",
    start: Annotated[str | None, typer.Option(help="First target day (Paris).")] = None,
    end: Annotated[str | None, typer.Option(help="Last target day (Paris, inclusive).")] = None,
    protocol: Annotated[str, typer.Option(help="day-ahead or rolling-24h.")] = "day-ahead",
    out_dir: Annotated[Path, typer.Option(help="Folder of the ranking and report.")] = Path(
        "reports/compare"
    ),
) -> None:
    """Rank every ML and DL model on one backtest (same period, data version, metrics)."""
    from edip_dl.compare import CompareError, run_compare
    from edip_dl.config import load_dl_params
    from edip_ml.config import load_ml_params

    if protocol not in PROTOCOLS:
        raise typer.BadParameter(f"--protocol must be one of {list(PROTOCOLS)}")
    dl_params = load_dl_params()
    dl_models = _listed(dl, dl_params.models)
    ml_models = _listed(ml, load_ml_params().models)
    files: list[Path] = []
    for p in (Path(p.strip()) for p in forecasts.split(",") if p.strip()):
        found = sorted(p.rglob("forecasts.parquet")) if p.is_dir() else [p]
        if not found or not all(f.is_file() for f in found):
            raise typer.BadParameter(f"--forecasts: no forecasts parquet file at {p}")
        files += found
    if not (files or ml_models or dl_models):
        raise typer.BadParameter("nothing to compare: give --ml, --dl or --forecasts")
    try:
        result = run_compare(
            out_dir,
            forecasts_files=files,
            ml_models=ml_models,
            dl_models=dl_models,
            start=start,
            end=end,
            protocol=protocol,
            dl_params=dl_params,
        )
    except CompareError as exc:
        typer.echo(f"compare failed: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    from edip_dl.compare import ranking_markdown

    typer.echo(ranking_markdown(result.ranking))
    for p in result.files:
        typer.echo(f"written {p}")
