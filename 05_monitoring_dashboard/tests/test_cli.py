"""``edip alerts`` (posting to a webhook, an unreachable API, a bad URL) and ``edip dashboard --help``."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
from typer.testing import CliRunner

from edip_pipeline.cli import app as edip_app
from edip_testkit.browser import running_dashboard
from edip_testkit.platform import free_port

from .platform import Platform


def test_edip_alerts_cli(platform: Platform, hook: str) -> None:
    runner = CliRunner()
    result = runner.invoke(
        edip_app,
        [
            "alerts",
            "--no-prefect",
            "--api-url",
            platform.api_url,
            "--webhook-url",
            hook,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "no alert" in result.output or "[" in result.output
    down = runner.invoke(
        edip_app, ["alerts", "--no-prefect", "--no-post", "--api-url", "http://127.0.0.1:9"]
    )
    assert down.exit_code == 0, down.output
    assert "api_errors" in down.output
    bad = runner.invoke(edip_app, ["alerts", "--no-prefect", "--api-url", "not a url"])
    assert bad.exit_code != 0
    assert "api_url" in bad.output or "URL" in bad.output
    helped = runner.invoke(edip_app, ["dashboard", "--help"])
    assert helped.exit_code == 0
    assert "--port" in helped.output


def test_edip_dashboard_listens_on_this_machine_only_by_default(tmp_path: Path) -> None:
    """``edip dashboard`` without --address published the dashboard on every interface."""
    port = free_port()
    env_address = os.environ.pop("EDIP_DASHBOARD_ADDRESS", None)
    try:
        with running_dashboard("http://127.0.0.1:9", port, tmp_path / "dash.log", address=None):
            listening = {
                c.laddr.ip
                for c in psutil.net_connections(kind="inet")
                if c.status == psutil.CONN_LISTEN and c.laddr.port == port
            }
    finally:
        if env_address is not None:
            os.environ["EDIP_DASHBOARD_ADDRESS"] = env_address
    assert listening == {"127.0.0.1"}
