"""``edip dashboard`` (Streamlit as a subprocess) and ``edip alerts`` (the alert flow once)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)
APP_FILE = Path(__file__).resolve().parent / "app.py"


def streamlit_command(port: int, address: str) -> list[str]:
    """The ``streamlit run`` command line of the dashboard (headless, no usage statistics)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_FILE),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def dashboard(
    port: Annotated[
        int | None, typer.Option(help="Port (default EDIP_DASHBOARD_PORT, 8501).", min=1, max=65535)
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            help="Interface to listen on (default EDIP_DASHBOARD_ADDRESS, 127.0.0.1: this machine "
            "only; 0.0.0.0 publishes the dashboard, which has no login, to the network)."
        ),
    ] = None,
    api_url: Annotated[
        str | None, typer.Option(help="EDIP API base URL (default EDIP_API_URL).")
    ] = None,
) -> None:
    """Serve the monitoring dashboard (Streamlit) against the EDIP API."""
    from edip_dashboard.config import DashboardSettings

    overrides = {"api_url": api_url} if api_url else {}
    try:
        settings = DashboardSettings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    port = port or settings.dashboard_port
    address = address or settings.dashboard_address
    env = {**os.environ, "EDIP_API_URL": settings.base_url}
    typer.echo(f"EDIP dashboard on http://{address}:{port} (API {settings.base_url})")
    try:
        code = subprocess.call(streamlit_command(port, address), env=env)
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


def alerts(
    api_url: Annotated[
        str | None, typer.Option(help="EDIP API base URL (default EDIP_API_URL).")
    ] = None,
    webhook_url: Annotated[
        str | None, typer.Option(help="Webhook (default EDIP_ALERT_WEBHOOK_URL).")
    ] = None,
    post: Annotated[bool, typer.Option(help="Post fired alerts to the webhook.")] = True,
    prefect: Annotated[
        bool, typer.Option(help="Run as a Prefect flow run (--no-prefect: plain function).")
    ] = True,
) -> None:
    """Evaluate the alert rules once and post fired alerts to the webhook."""
    from edip_dashboard.alerts import WebhookError
    from edip_dashboard.flows import alerts_flow

    runner = alerts_flow if prefect else alerts_flow.fn
    try:
        fired = runner(api_url=api_url, webhook_url=webhook_url, post=post)
    except WebhookError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not fired:
        typer.echo("no alert")
    for alert in fired:
        typer.echo(f"[{alert['severity']}] {alert['rule']}: {alert['title']} — {alert['message']}")


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` and ``alerts`` to the ``edip`` application."""
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    if "dashboard" not in names:
        app.command("dashboard")(dashboard)
    if "alerts" not in names:
        app.command("alerts")(alerts)
