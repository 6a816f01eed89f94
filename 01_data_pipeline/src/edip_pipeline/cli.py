"""``edip``: the one command-line entry point of the platform.

Later packages add their commands (``train``, ``backtest``, ``serve``, ``dashboard``…) by exposing
an entry point in the ``edip.cli`` group: a function ``register(app: typer.Typer) -> None``.
Every command fails the same way (:mod:`edip_pipeline.cli_errors`): one ``error:`` line and exit
code 1, the traceback only with ``edip -v``.
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from edip_pipeline.cli_errors import OneLineErrors, check_dates, set_verbose
from edip_pipeline.runtime import configure as configure_runtime

if TYPE_CHECKING:
    from edip_pipeline.ingest import IngestReport

console = Console(stderr=True)
log = logging.getLogger("edip")
app = typer.Typer(
    name="edip",
    help="EDIP — Energy Demand Intelligence Platform (France day-ahead electricity demand).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    cls=OneLineErrors,
)
data_app = typer.Typer(help="Inspect the versioned data store.", no_args_is_help=True)
flows_app = typer.Typer(help="Deploy the Prefect flows with their schedules.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(flows_app, name="flows")
Protocol = Literal["day-ahead", "rolling-24h"]
WeatherMode = Literal["auto", "forecast", "observed", "none"]

STATUS_COLUMNS = (
    "dataset",
    "version",
    "rows",
    "start",
    "end",
    "step",
    "gaps",
    "missing",
    "interpolated",
    "last_ingest",
    "sources",
)
#: dataset a backfill pulls when --dataset is not given (else the source's first dataset)
BACKFILL_DEFAULT = {"odre": "eco2mix-national-cons-def"}
SOURCE_CHOICES = ["sample", "odre", "openmeteo", "enedis", "rte", "meteofrance", "entsoe", "all"]


@app.callback()
def _main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug logging; errors show their traceback.")
    ] = False,
) -> None:
    set_verbose(verbose)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=False)],
        force=True,
    )
    for noisy in ("httpx", "httpcore", "prefect", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def ingest(
    source: Annotated[str, typer.Option(help=f"One of {SOURCE_CHOICES}.")] = "sample",
    dataset: Annotated[
        str | None, typer.Option(help="Source dataset id (default: all of the source's).")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="First day (Paris) or ISO instant; default incremental.")
    ] = None,
    end: Annotated[str | None, typer.Option(help="End (exclusive); default now.")] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="Import a portal export (CSV/JSON/JSONL/parquet)."),
    ] = None,
    from_params: Annotated[
        bool, typer.Option("--from-params", help="Sources and period from params.yaml (DVC).")
    ] = False,
    prefect: Annotated[
        bool, typer.Option(help="Run as a Prefect flow (shows in the Prefect UI).")
    ] = True,
) -> None:
    """Pull sources into data/raw and the canonical store (incremental by default)."""
    from edip_pipeline.config import load_params
    from edip_pipeline.flows import flow_runner
    from edip_pipeline.flows.ingest import ingest_flow, resolve_sources

    check_dates(start, end)

    if from_params:
        ip = load_params().ingest
        plan = [pair for name in ip.sources for pair in resolve_sources(name)]
        runner = flow_runner(ingest_flow, prefect)
        _finish(runner(plan=plan, start=ip.start, end=ip.end))
        return

    if source not in SOURCE_CHOICES:
        raise typer.BadParameter(f"--source must be one of {SOURCE_CHOICES}")
    if from_file is not None:
        from edip_pipeline.ingest import datasets_for, ingest_file

        if dataset is None and source in ("meteofrance", "entsoe"):
            dataset = datasets_for(source, None)[0]  # their only dataset
        if dataset is None:
            raise typer.BadParameter("--from-file needs --dataset <id>")
        if source not in ("odre", "meteofrance", "entsoe"):
            raise typer.BadParameter(
                "--from-file imports ODRE portal exports (--source odre), Météo-France SYNOP "
                "files or folders of them (--source meteofrance) or ENTSO-E's 'Total Load - "
                "Day Ahead / Actual' CSV export (--source entsoe)"
            )
        report = ingest_file(source, dataset, from_file)
        _finish([report])
        return
    try:
        plan = resolve_sources(source, dataset)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    runner = flow_runner(ingest_flow, prefect)
    reports = runner(plan=plan, start=start, end=end)
    _finish(reports)


def _finish(reports: list[IngestReport]) -> None:
    for r in reports:
        console.print(f"[{'green' if r.ok else 'red'}]{r.summary()}[/]", soft_wrap=True)
        for note in r.notes:
            console.print(f"  {note}", soft_wrap=True, highlight=False, markup=False)
    if any(not r.ok for r in reports):
        raise typer.Exit(code=1)


@app.command()
def backfill(
    source: Annotated[str, typer.Option(help="Source name.")] = "odre",
    dataset: Annotated[
        str | None,
        typer.Option(help="Source dataset id (default: the source's first; odre: cons-def)."),
    ] = None,
    start: Annotated[str, typer.Option(help="First day (Paris).")] = "2012-01-01",
    end: Annotated[str | None, typer.Option(help="End day (exclusive); default today.")] = None,
    chunk_days: Annotated[int | None, typer.Option(help="Days per chunk.")] = None,
    prefect: Annotated[bool, typer.Option(help="Run as a Prefect flow.")] = True,
) -> None:
    """Pull a long history in resumable chunks (re-run to resume after an interruption)."""
    from edip_pipeline.flows import flow_runner
    from edip_pipeline.flows.backfill import backfill_flow
    from edip_pipeline.ingest import datasets_for

    check_dates(start, end)
    try:
        dataset = dataset or BACKFILL_DEFAULT.get(source) or datasets_for(source, None)[0]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    runner = flow_runner(backfill_flow, prefect)
    reports = runner(source=source, dataset=dataset, start=start, end=end, chunk_days=chunk_days)
    _finish(reports)


@app.command()
def features(
    start: Annotated[
        str | None, typer.Option(help="First target day (Paris); default: the stored range.")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last target day (Paris, inclusive); default: stored end.")
    ] = None,
    protocol: Annotated[Protocol, typer.Option(help="Feature protocol.")] = "day-ahead",
    weather: Annotated[WeatherMode, typer.Option(help="Weather source.")] = "auto",
    prefect: Annotated[bool, typer.Option(help="Run as a Prefect flow.")] = True,
) -> None:
    """Build the feature table into data/processed/ (the whole stored range by default).

    Training, backtests, promotion and DL read this table while it is current.
    """
    from edip_pipeline.flows import flow_runner
    from edip_pipeline.flows.build_features import build_features_flow

    check_dates(start, end, inclusive_end=True)

    runner = flow_runner(build_features_flow, prefect)
    path = runner(start=start, end=end, protocol=protocol, weather=weather)
    console.print(f"[green]features written to {path}[/]")


@data_app.command("status")
def data_status() -> None:
    """Per dataset: range, rows, gaps, last ingest and version; damaged files and their repair."""
    from edip_pipeline.integrity import damage_reports
    from edip_pipeline.status import dataset_status
    from edip_pipeline.store import Store

    store = Store()
    rows = dataset_status(store)  # a damaged version met here is recovered and reported
    if not rows:
        console.print("[yellow]the store is empty: run `edip ingest --source sample`[/]")
    else:
        table = Table(title=f"EDIP store — {rows[0]['data_dir']}")
        for key in STATUS_COLUMNS:
            table.add_column(key.replace("_", " "))
        for r in rows:
            table.add_row(*[str(r[k]) for k in STATUS_COLUMNS])
        Console(width=max(Console().width, 200)).print(table)
    _print_damage(damage_reports(store.root))


def _print_damage(reports: list[dict[str, Any]]) -> None:
    """One line per open damage report; exit 1 while any is open (the store needs a repair)."""
    from edip_pipeline.integrity import describe

    for report in reports:
        console.print(f"DAMAGED {describe(report)}", style="red", soft_wrap=True, markup=False)
    if reports:
        raise typer.Exit(code=1)


@data_app.command("verify")
def data_verify() -> None:
    """Check every current version's files against their checksums (changes nothing)."""
    from edip_pipeline.datasets import DATASETS
    from edip_pipeline.integrity import damage_reports, verify
    from edip_pipeline.store import Store

    store = Store()
    damaged = [d for name in DATASETS for d in verify(store, name)]
    for d in damaged:
        console.print(f"DAMAGED {d.line()}", style="red", soft_wrap=True, markup=False)
    reports = damage_reports(store.root)
    if not damaged and not reports:
        console.print(f"[green]every stored file matches its checksum ({store.root})[/]")
    if damaged:
        console.print("recover and re-fetch with: edip data repair", highlight=False)
    _print_damage(reports)
    if damaged:
        raise typer.Exit(code=1)


@data_app.command("repair")
def data_repair(
    dataset: Annotated[str | None, typer.Option(help="Store dataset (default: all).")] = None,
    source: Annotated[str | None, typer.Option(help="Re-fetch from this source.")] = None,
    source_dataset: Annotated[str | None, typer.Option(help="Its dataset id.")] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="Re-import a portal export instead.")
    ] = None,
) -> None:
    """Quarantine damaged files, then re-fetch (or re-import) the time ranges they held."""
    from edip_pipeline.repair import repair
    from edip_pipeline.store import Store

    results = repair(
        Store(), dataset, source=source, source_dataset=source_dataset, from_file=from_file
    )
    if not results:
        console.print("[green]nothing to repair[/]")
    for r in results:
        color = "green" if r.resolved else "red"
        state = "repaired" if r.resolved else "NOT repaired"
        console.print(f"[{color}]{r.dataset} {state}[/]: {r.message}", soft_wrap=True)
    if any(not r.resolved for r in results):
        raise typer.Exit(code=1)


@app.command()
def eda(
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("reports"),
    start: Annotated[str | None, typer.Option(help="First day.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day.")] = None,
) -> None:
    """Exploratory report (Plotly HTML + markdown) of the stored load and weather."""
    from edip_pipeline.eda import build_eda_report
    from edip_pipeline.store import Store

    path = build_eda_report(Store(), out, start=start, end=end)
    console.print(f"[green]EDA report: {path}[/]")


@flows_app.command("serve")
def flows_serve() -> None:
    """Serve the ingest flows on their schedules (real time hourly, consolidated daily)."""
    from edip_pipeline.flows.deploy import serve_all

    serve_all()


def _load_plugins() -> None:
    if os.environ.get("EDIP_NO_PLUGINS"):
        return
    for ep in entry_points(group="edip.cli"):
        try:
            ep.load()(app)
        except Exception as exc:  # a broken plugin must not take the core CLI down
            log.warning("could not load edip plugin %s: %s", ep.name, exc)


# threads and OpenMP waits are settled before a plugin loads LightGBM, XGBoost or torch
configure_runtime()
_load_plugins()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
