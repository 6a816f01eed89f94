"""``edip alerts`` (posting to a webhook, an unreachable API, a bad URL) and ``edip dashboard --help``."""

from __future__ import annotations

from typer.testing import CliRunner

from edip_pipeline.cli import app as edip_app

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
