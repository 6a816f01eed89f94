"""``edip`` commands of the ML package (entry point ``edip.cli`` → :func:`register`).

* ``edip train ml [--models rf,xgboost,lightgbm] [--tune N] [--start] [--end] [--show-params]``
* ``edip train intraday [--models lightgbm_intraday] [--end] [--crown/--no-crown]``
* ``edip backtest --family ml --models … --start … --end … --out forecasts.parquet
  [--protocol day-ahead|rolling-24h] [--report-dir reports/]``
* ``edip promote`` — challenger vs champion on the most recent days
* ``edip mlflow [--host] [--port]`` — the tracking server, in the foreground

Why the get-or-create helpers: the DL package adds ``edip train dl`` to the same ``train`` group
and its family to ``edip backtest --family``, whichever package registers first.
Heavy imports (mlflow, the models) happen inside the commands so ``edip --help`` stays fast.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from edip_ml.cli_options import (
    BacktestDaysOption,
    EndOption,
    ExperimentOption,
    ModelNameOption,
    ModelsOption,
    ParamOption,
    RegisterOption,
    ReportDirOption,
    ShowParamsOption,
    StartOption,
    StorageOption,
    echo_results,
    model_names,
    parse_overrides,
)

if TYPE_CHECKING:
    from edip_ml.config import MLParams

log = logging.getLogger(__name__)

#: the day-ahead and rolling protocols (``edip compare``); ``edip backtest`` also takes ``intraday``
PROTOCOLS = ("day-ahead", "rolling-24h")
WEATHER_MODES = ("auto", "forecast", "observed", "none")
#: ``edip backtest --family NAME`` → callable(models, start, end, protocol, out, report_dir),
#: ``models`` the ``--models`` text or None (the family's list in params.yaml); other packages
#: add theirs (``edip_dl`` registers "dl")
BACKTEST_FAMILIES: dict[str, Callable[..., Any]] = {}


# ---------------------------------------------------------------------------------------------
# registration helpers
# ---------------------------------------------------------------------------------------------
def get_or_create_group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The sub-typer ``name`` of ``app``, created (and added) if no package did it yet."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


def has_command(app: typer.Typer, name: str) -> bool:
    """Whether ``app`` already has a top-level command ``name``."""
    for info in app.registered_commands:
        callback_name = info.callback.__name__.replace("_", "-") if info.callback else None
        if (info.name or callback_name) == name:
            return True
    return False


def register(app: typer.Typer) -> None:
    """Add the ML commands to the ``edip`` application."""
    train_app = get_or_create_group(
        app, "train", "Train forecasters, log them to MLflow and register them as challenger."
    )
    if not has_command(train_app, "ml"):
        train_app.command("ml")(train_ml)
    if not has_command(train_app, "intraday"):
        from edip_ml.cli_intraday import train_intraday_command

        train_app.command("intraday")(train_intraday_command)
    BACKTEST_FAMILIES.setdefault("ml", _backtest_ml)
    if not has_command(app, "backtest"):
        app.command("backtest")(backtest)
    if not has_command(app, "promote"):
        app.command("promote")(promote)
    if not has_command(app, "mlflow"):
        app.command("mlflow")(mlflow_server)


# ---------------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------------
def train_ml(
    models: ModelsOption = None,
    tune: Annotated[int, typer.Option(help="Optuna trials per model (0: no tuning).")] = 0,
    start: StartOption = None,
    end: EndOption = None,
    param: ParamOption = None,
    backtest_days: BacktestDaysOption = None,
    storage: StorageOption = None,
    report_dir: ReportDirOption = None,
    register_models: RegisterOption = True,
    experiment: ExperimentOption = None,
    model_name: ModelNameOption = None,
    show_params: ShowParamsOption = False,
) -> None:
    """Train day-ahead models, export ONNX, log to MLflow, register each as challenger."""
    from edip_ml.config import load_ml_params
    from edip_ml.registry.tracking_server import configure
    from edip_ml.training.train import train_models

    ml = load_ml_params()
    names = model_names(models, ml.models, "ml.models")
    if show_params:
        echo_params(names, ml.with_overrides(parse_overrides(param)))
        return
    uri = configure()
    log.info("MLflow tracking at %s", uri)
    results = train_models(
        names,
        start,
        end,
        tune,
        model_params=parse_overrides(param),
        backtest_days=backtest_days,
        tuning_storage=storage,
        report_dir=report_dir,
        register_models=register_models,
        experiment=experiment,
        model_name=model_name,
    )
    echo_results(results)


def echo_params(names: Sequence[str], params: MLParams) -> None:
    """Each model's hyper-parameters: value, search range (``-``: not tuned), description."""
    from edip_ml.models import available_models

    models = available_models()
    for name in names:
        if name not in models:
            raise typer.BadParameter(f"unknown model {name!r}; known: {sorted(models)}")
        cls = models[name]
        typer.echo(f"{name} ({cls.params_class.__module__}.{cls.params_class.__name__}):")
        for line in cls.params_class.model_validate(params.hyper(name)).describe():
            typer.echo(line)


def backtest(
    models: ModelsOption = None,
    family: Annotated[str, typer.Option(help="Model family: ml (dl with edip_dl).")] = "ml",
    start: Annotated[str | None, typer.Option(help="First target day (Paris).")] = None,
    end: Annotated[str | None, typer.Option(help="Last target day (Paris, inclusive).")] = None,
    out: Annotated[Path, typer.Option(help="Forecasts parquet to write.")] = Path(
        "forecasts.parquet"
    ),
    protocol: Annotated[
        str, typer.Option(help="day-ahead, rolling-24h or intraday (ml.intraday).")
    ] = "day-ahead",
    report_dir: Annotated[
        Path | None, typer.Option(help="Write the HTML + markdown report here.")
    ] = None,
    train_start: Annotated[
        str | None,
        typer.Option(help="First training target day (default: first day with weather, or load)."),
    ] = None,
    weather: Annotated[
        str | None, typer.Option(help="Weather: none, observed, forecast or auto (params.yaml).")
    ] = None,
    baselines: Annotated[
        str | None,
        typer.Option(help="Comma-separated baselines run alongside ('none': none; params.yaml)."),
    ] = None,
    n_jobs: Annotated[
        int | None,
        typer.Option(
            help="Threads per rf/xgboost/lightgbm fit (params.yaml, else EDIP_FIT_THREADS: 1).",
            min=1,
        ),
    ] = None,
) -> None:
    """Rolling-origin backtest: one row per (origin, target time, model) into a parquet file.

    Defaults to the stored range: the last ``ml.backtest.test_months`` months are tested, the
    models trained on everything before (from the first day with weather when there is some).
    """
    from edip_ml.config import PROTOCOLS as ALL_PROTOCOLS

    if protocol not in ALL_PROTOCOLS:
        raise typer.BadParameter(f"--protocol must be one of {list(ALL_PROTOCOLS)}")
    if weather is not None and weather not in WEATHER_MODES:
        raise typer.BadParameter(f"--weather must be one of {list(WEATHER_MODES)}")
    runner = BACKTEST_FAMILIES.get(family)
    if runner is None:
        raise typer.BadParameter(
            f"--family {family!r} is not installed (available: {sorted(BACKTEST_FAMILIES)})"
        )
    options = backtest_options(train_start, weather, baselines, n_jobs)
    if family != "ml":
        if options:
            raise typer.BadParameter(
                f"--train-start/--weather/--baselines/--n-jobs apply to --family ml, not {family}"
            )
        runner(models, start, end, protocol, out, report_dir)
        return
    runner(models, start, end, protocol, out, report_dir, **options)


def backtest_options(
    train_start: str | None, weather: str | None, baselines: str | None, n_jobs: int | None
) -> dict[str, Any]:
    """The backtest command's overrides of params.yaml (only those given)."""
    options: dict[str, Any] = {}
    if train_start is not None:
        options["train_start"] = train_start
    if weather is not None:
        options["weather"] = weather
    if baselines is not None:
        names = [b.strip() for b in baselines.split(",") if b.strip()]
        options["baselines"] = [] if names in ([], ["none"]) else names
    if n_jobs is not None:
        options["n_jobs"] = n_jobs
    return options


def _backtest_ml(
    models: str | None,
    start: str | None,
    end: str | None,
    protocol: str,
    out: Path,
    report_dir: Path | None,
    **options: Any,
) -> None:
    from edip_ml.config import load_ml_params
    from edip_ml.evaluation.backtest_files import backtest_to_files

    params = load_ml_params()
    default, section = (
        (params.intraday.models, "ml.intraday.models")
        if protocol == "intraday"
        else (params.models, "ml.models")
    )
    names = model_names(models, default, section)
    paths = backtest_to_files(
        names, start, end, protocol=protocol, out=out, report_dir=report_dir, **options
    )
    for p in paths:
        typer.echo(f"written {p}")


def promote(
    window_days: Annotated[
        int | None, typer.Option(help="Most recent complete days to evaluate on.")
    ] = None,
    tolerance: Annotated[
        float | None, typer.Option(help="Relative MAPE tolerance vs the champion (0.02 = 2 %).")
    ] = None,
    max_mape: Annotated[
        float | None, typer.Option(help="Absolute MAPE gate, a fraction (0.05 = 5 %).")
    ] = None,
    end_day: Annotated[
        str | None, typer.Option(help="Last day of the window (default: last complete day).")
    ] = None,
    model_name: Annotated[str | None, typer.Option(help="Registered model name.")] = None,
    allow_overlap: Annotated[
        bool,
        typer.Option(
            "--allow-overlap",
            help="Judge a challenger trained on days of the window anyway (IN-SAMPLE, tagged).",
        ),
    ] = False,
) -> None:
    """Move ``champion`` to the challenger if it is not worse and passes the gates.

    The challenger is judged only on days it never saw: one whose training period reaches into
    the window is refused (exit 1) unless ``--allow-overlap``.
    """
    from edip_ml.config import load_ml_params
    from edip_ml.data.evaluation_window import OverlapError
    from edip_ml.evaluation.promotion import promote as run_promotion
    from edip_ml.registry.tracking_server import configure
    from edip_ml.registry.versions import RegistryError

    configure()
    ml = load_ml_params()
    try:
        decision = run_promotion(
            model_name=model_name or ml.tracking.registered_model,
            window_days=window_days,
            tolerance=tolerance,
            max_mape=max_mape,
            end_day=end_day,
            ml_params=ml,
            allow_overlap=allow_overlap,
        )
    except (RegistryError, OverlapError) as exc:
        typer.echo(f"promotion failed: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(
        f"{decision.decision}: challenger v{decision.challenger_version} "
        f"(MAPE {_pct(decision.mape_challenger)}) vs champion "
        f"{'v' + decision.champion_version if decision.champion_version else 'none'} "
        f"(MAPE {_pct(decision.mape_champion)}) on {decision.window or '-'} — {decision.reason}"
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.3f} %"


def mlflow_server(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 5000,
    backend_store_uri: Annotated[
        str, typer.Option(help="Tracking/registry database.")
    ] = "sqlite:///mlruns/mlflow.db",
    artifacts_destination: Annotated[
        str, typer.Option(help="Where the server stores artifacts.")
    ] = "mlartifacts",
) -> None:
    """Run the MLflow tracking server (SQLite backend, local artifacts) until Ctrl-C."""
    from edip_ml.registry.tracking_server import start_server

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM (make demo-stop, docker stop) stops like Ctrl-C

    signal.signal(signal.SIGTERM, _terminate)
    # a process started in the background of a non-interactive shell inherits SIGINT ignored;
    # this command promises Ctrl-C, so take it back
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = start_server(host, port, backend_store_uri, artifacts_destination)
    typer.echo(f"MLflow tracking server on {server.url} (Ctrl-C to stop)")
    try:
        server.process.wait()
    except KeyboardInterrupt:
        log.info("stopping the MLflow server")
    finally:
        server.stop()
    if server.process.returncode not in (0, -2, -15, None):
        raise typer.Exit(code=1)
