"""``edip live``: run the daily loop for real (``up``), look at it (``status``), or fast-forward it
over history (``simulate``). Registered through the ``edip.cli`` entry point."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from edip_pipeline.calendar import PARIS

log = logging.getLogger(__name__)

live_app = typer.Typer(help="The daily operating loop: up, status, simulate.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(live_app, name="live")


def default_clock_file() -> Path:
    from edip_pipeline.config import get_settings

    return get_settings().data_dir / "live_clock"


def _window(value: str) -> tuple[Any, Any]:
    import pandas as pd

    a, sep, b = value.partition("/")
    if not sep:
        raise typer.BadParameter(f"--down expects START/END instants, got {value!r}")
    return pd.Timestamp(a, tz=PARIS) if pd.Timestamp(a).tzinfo is None else pd.Timestamp(a), (
        pd.Timestamp(b, tz=PARIS) if pd.Timestamp(b).tzinfo is None else pd.Timestamp(b)
    )


@live_app.command("simulate")
def simulate(
    start: Annotated[str, typer.Option(help="First simulated Paris day.")],
    days: Annotated[int, typer.Option(min=1, help="Number of days.")] = 28,
    clock_file: Annotated[
        Path | None, typer.Option(help="The clock file the API reads (EDIP_CLOCK_FILE).")
    ] = None,
    stale_day: Annotated[
        list[str] | None, typer.Option(help="Skip that day's ingest runs (repeatable).")
    ] = None,
    down: Annotated[
        list[str] | None, typer.Option(help="Loop down START/END (Paris, repeatable).")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume/--no-resume", help="Skip runs done.")] = True,
) -> None:
    """Run the loop's real flows day by day on the store's history, as if each day were today."""
    import pandas as pd

    from edip_ml.live.api import LoopApi
    from edip_ml.live.simulate import Simulator
    from edip_pipeline import clock

    path = clock_file or Path(os.environ.get(clock.CLOCK_FILE_ENV) or default_clock_file())
    sim = Simulator(path)
    if not path.is_file():
        clock.set_clock(path, pd.Timestamp(start).normalize().tz_localize(PARIS))
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo("PREFECT_API_URL is unset: Prefect runs a temporary server for this process")
    with LoopApi(sim.settings) as api:
        api_now = pd.Timestamp(api.loop_status()["now"])
    if api_now != clock.now():
        typer.echo(
            f"the API at {sim.settings.api_url} says now is {api_now.isoformat()}, the clock file "
            f"{path} says {clock.now().isoformat()}: start the API with EDIP_CLOCK_FILE={path} "
            "(and without EDIP_REPLAY_NOW)",
            err=True,
        )
        raise typer.Exit(code=2)
    import time

    t0 = [time.monotonic()]

    def echo(run: Any, _: Any) -> None:
        took, t0[0] = time.monotonic() - t0[0], time.monotonic()
        typer.echo(
            f"{run.at.tz_convert('Europe/Paris'):%Y-%m-%d %H:%M} {run.job.name} ({took:.1f} s)"
        )

    report = sim.run(
        start,
        days,
        stale_days=stale_day or (),
        downtime=[_window(w) for w in down or ()],
        resume=resume,
        on_run=echo,
    )
    typer.echo(report.summary())
    if any(r["state"] != "ok" for r in report.runs):
        raise typer.Exit(code=1)


@live_app.command("up")
def up(
    catch_up: Annotated[
        bool, typer.Option("--catch-up/--no-catch-up", help="Issue and sync at once first.")
    ] = True,
) -> None:
    """Serve every deployment (ingest, features and the loop) on its real schedule (blocks)."""
    from edip_ml.live.issue import issue_forecast_flow
    from edip_ml.live.sync import sync_actuals_flow
    from edip_pipeline.flows.deploy import serve_all

    if catch_up:
        for flow in (sync_actuals_flow, issue_forecast_flow):
            try:
                flow()
            except Exception:  # the schedules still start; the failed run is in Prefect
                log.exception("catch-up run of %s failed", flow.name)
    serve_all()


@live_app.command("status")
def status() -> None:
    """Last and next run of each deployment, the last issuance and its gate result."""
    from edip_ml.live.status import deployment_status, describe_issuance

    for row in deployment_status():
        typer.echo(
            f"{row['deployment']:<28} last {row['last'] or '-':<40} next {row['next'] or '-'}"
        )
    typer.echo(describe_issuance())
