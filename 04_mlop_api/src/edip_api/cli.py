"""``edip serve`` and ``edip replay`` (plugged into the ``edip`` CLI via the ``edip.cli`` group).

``edip serve`` replaces itself with ``python -m uvicorn --factory edip_api.main:create_app`` so
the serving process carries nothing of the CLI (no other plugin is imported into it) and signals
reach uvicorn directly (SIGTERM → graceful shutdown → the log writer drains).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes.")] = 1,
    reload: Annotated[bool, typer.Option("--reload/--no-reload", help="Dev auto-reload.")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the forecast API (uvicorn, app factory edip_api.main:create_app)."""
    from edip_api.core.config import Settings, describe_refusal

    try:
        settings = Settings()
    except ValueError as exc:  # named, never echoed: the values may be secrets
        raise typer.BadParameter(f"invalid settings:\n{describe_refusal(exc)}") from None
    if reload and workers > 1:
        raise typer.BadParameter("--reload runs one process: drop --workers or --reload")
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "edip_api.main:create_app",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        log_level,
        "--timeout-graceful-shutdown",  # the requests' share of EDIP_SHUTDOWN_BUDGET_S
        str(settings.graceful_requests_s),
    ]
    if reload:
        args.append("--reload")
    typer.echo(f"EDIP API on http://{host}:{port} ({workers} worker(s))", err=True)
    os.execv(sys.executable, args)


def replay(
    start: Annotated[str, typer.Option(help="First simulated Paris day, e.g. 2020-12-04.")],
    end: Annotated[str, typer.Option(help="Last simulated Paris day (inclusive).")],
    api_url: Annotated[
        str, typer.Option(envvar="EDIP_API_URL", help="Base URL of the running API.")
    ] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str | None, typer.Option(envvar="EDIP_API_KEY", help="X-API-Key (actuals).")
    ] = None,
) -> None:
    """Replay past days through the API: day-ahead forecast (logged), then that day's actuals."""
    from rich.progress import Progress

    from edip_api.replay import ReplayError, replay_days, run_replay
    from edip_pipeline.store import Store

    try:
        days = replay_days(start, end)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    import httpx

    key = api_key or "edip-dev-key"
    with (
        httpx.Client(base_url=api_url, headers={"X-API-Key": key}, timeout=120) as client,
        Progress() as progress,
    ):
        task = progress.add_task(f"replaying {start}..{end}", total=len(days))
        try:
            report = run_replay(
                client,
                Store(),
                start,
                end,
                on_day=lambda label: progress.update(
                    task, advance=1, description=f"replayed {label}"
                ),
            )
        except (ReplayError, httpx.HTTPError) as exc:
            typer.echo(f"replay failed: {exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(report.summary())


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``replay`` to the ``edip`` application."""
    app.command("serve")(serve)
    app.command("replay")(replay)


app = typer.Typer(help="EDIP forecast API commands.", no_args_is_help=True)
register(app)

if __name__ == "__main__":
    app()
