"""``edip live``: run the daily loop for real (``up``), look at it (``status``), or fast-forward it
over history (``simulate``). Registered through the ``edip.cli`` entry point.

``up`` and ``simulate`` run every flow against one Prefect server: ``PREFECT_API_URL``, else one
they start, await once and stop (:mod:`edip_pipeline.flows.server`); a simulation whose server
does not come up runs its flows without Prefect, after a warning.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from edip_pipeline.calendar import PARIS
from edip_pipeline.cli_errors import OneLineErrors, check_dates, quiet_prefect_tracebacks

log = logging.getLogger(__name__)

live_app = typer.Typer(
    help="The daily operating loop: up, status, simulate.",
    no_args_is_help=True,
    cls=OneLineErrors,
)


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
    try:
        check_dates(a, b)
    except typer.BadParameter as exc:
        raise typer.BadParameter(f"--down {value}: {exc}") from None
    first, last = (
        pd.Timestamp(t, tz=PARIS) if pd.Timestamp(t).tzinfo is None else pd.Timestamp(t)
        for t in (a, b)
    )
    return first, last


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

    from edip_ml.live.simulate import Simulator
    from edip_pipeline import clock
    from edip_pipeline.flows.server import prefect_server

    check_dates(start, None)
    windows = [_window(w) for w in down or ()]
    path = clock_file or Path(os.environ.get(clock.CLOCK_FILE_ENV) or default_clock_file())
    if not path.is_file():
        clock.set_clock(path, pd.Timestamp(start).normalize().tz_localize(PARIS))
    sim = Simulator(path)
    _check_api(sim.settings.api_url, path)
    with prefect_server() as server:
        quiet_prefect_tracebacks()  # a failed run is one line here; its trace is in Prefect
        sim.prefect = server is not None
        report = sim.run(
            start,
            days,
            stale_days=stale_day or (),
            downtime=windows,
            resume=resume,
            on_run=_echo(),
        )
    typer.echo(report.summary())
    if report.unresolved:
        raise typer.Exit(code=1)


def _check_api(api_url: str, path: Path) -> None:
    """The API must answer and run on the simulation's clock file (one line otherwise)."""
    import pandas as pd

    from edip_ml.live.api import LoopApi, LoopApiError
    from edip_ml.live.config import live_settings
    from edip_pipeline import clock

    try:
        with LoopApi(live_settings(), timeout_s=15) as api:
            api_now = pd.Timestamp(api.loop_status()["now"])
    except LoopApiError as exc:
        raise RuntimeError(
            f"the API at {api_url} does not answer ({exc}): start it with EDIP_CLOCK_FILE={path} "
            "(edip serve), or point EDIP_LIVE_API_URL at it"
        ) from exc
    if api_now != clock.now():
        raise RuntimeError(
            f"the API at {api_url} says now is {api_now.isoformat()}, the clock file {path} "
            f"says {clock.now().isoformat()}: start the API with EDIP_CLOCK_FILE={path} (and "
            "without EDIP_REPLAY_NOW)"
        )


def _echo() -> Any:
    """A callback printing each run as it ends, with its wall time."""
    import time

    t0 = [time.monotonic()]

    def echo(run: Any, _: Any) -> None:
        took, t0[0] = time.monotonic() - t0[0], time.monotonic()
        what = run.key.split(" ", 1)[1] if run.attempt else run.job.name
        typer.echo(f"{run.at.tz_convert('Europe/Paris'):%Y-%m-%d %H:%M} {what} ({took:.1f} s)")

    return echo


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
    from edip_pipeline.flows.server import prefect_server

    with prefect_server(services=True) as server:
        if server is None:
            raise RuntimeError(
                "edip live up schedules its deployments on a Prefect server, and none answered: "
                "set PREFECT_API_URL to a running one (prefect server start)"
            )
        if catch_up:
            for flow in (sync_actuals_flow, issue_forecast_flow):
                try:  # at once, no retries: the schedules (and their retries) follow
                    flow.with_options(retries=0)()
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
