"""The alert flow (plain and as a real Prefect run), `edip alerts`, and a fallback-serving API."""

from __future__ import annotations

import json

import pytest
from prefect.testing.utilities import prefect_test_harness
from pytest_httpserver import HTTPServer
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from edip_dashboard.alerts import evaluate_alerts
from edip_dashboard.client import ApiClient
from edip_dashboard.config import DashboardSettings, reset_settings_cache
from edip_dashboard.flows import alerts_flow
from edip_pipeline.cli import app as edip_app

from .platform import Platform, fallback_api
from .test_pages import APP, TIMEOUT


def _hook(httpserver: HTTPServer) -> str:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return httpserver.url_for("/hook")


def test_flow_posts_what_evaluate_alerts_finds(platform: Platform, httpserver: HTTPServer) -> None:
    fired = alerts_flow.fn(api_url=platform.api_url, webhook_url=_hook(httpserver))
    with ApiClient(platform.api_url) as c:
        expected = evaluate_alerts(c, DashboardSettings(api_url=platform.api_url))  # type: ignore[arg-type]
    assert [a["rule"] for a in fired] == [a.rule for a in expected]
    if fired:
        ((request, _),) = httpserver.log
        assert json.loads(request.get_data())["alerts"] == fired
    else:
        assert not httpserver.log


def test_tight_thresholds_fire_and_post(
    platform: Platform, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every day above 0.1 % MAPE: the MAPE rule must fire
    monkeypatch.setenv("EDIP_MAPE_THRESHOLD", "0.001")
    monkeypatch.setenv("EDIP_MAPE_DAYS", "3")
    fired = alerts_flow.fn(api_url=platform.api_url, webhook_url=_hook(httpserver))
    rules = {a["rule"] for a in fired}
    assert "mape" in rules
    assert "stale_data" not in rules
    assert "fallback_model" not in rules
    assert "api_errors" not in rules
    body = json.loads(httpserver.log[0][0].get_data())
    assert {a["rule"] for a in body["alerts"]} == rules
    assert "EDIP:" in body["text"]


def test_stale_data_fires_after_the_store_ends(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the sample ends 2020-12-31 22:30 UTC; two days later every dataset is stale
    with ApiClient(platform.api_url) as c:
        quiet = evaluate_alerts(c, DashboardSettings(api_url=platform.api_url))  # type: ignore[arg-type]
        monkeypatch.setenv("EDIP_REPLAY_NOW", "2021-01-02T12:00:00+00:00")
        late = evaluate_alerts(c, DashboardSettings(api_url=platform.api_url))  # type: ignore[arg-type]
    assert "stale_data" not in {a.rule for a in quiet}
    (stale,) = [a for a in late if a.rule == "stale_data"]
    assert stale.value == pytest.approx(37.5)
    assert "load_national/consumption_mw" in stale.message
    assert stale.severity == "critical"  # 37.5 h > 4 × 6 h


def test_flow_as_a_real_prefect_run(platform: Platform) -> None:
    with prefect_test_harness(server_startup_timeout=90):
        state = alerts_flow(api_url=platform.api_url, post=False, return_state=True)
    assert state.is_completed()
    assert isinstance(state.result(), list)


def test_edip_alerts_cli(platform: Platform, httpserver: HTTPServer) -> None:
    runner = CliRunner()
    result = runner.invoke(
        edip_app,
        [
            "alerts",
            "--no-prefect",
            "--api-url",
            platform.api_url,
            "--webhook-url",
            _hook(httpserver),
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


def test_fallback_model_alert_and_pages(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fallback_api(platform) as api:
        with ApiClient(api.url) as c:
            fired = evaluate_alerts(c, DashboardSettings(api_url=api.url))  # type: ignore[arg-type]
        assert "fallback_model" in {a.rule for a in fired}
        monkeypatch.setenv("EDIP_API_URL", api.url)
        reset_settings_cache()
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        assert not at.exception, [e.value for e in at.exception]
        for page in ("performance", "drift", "alerts"):
            at.switch_page(f"pages/{page}.py").run()
            assert not at.exception, (page, [e.value for e in at.exception])
        assert any("Fallback model in use" in e.value for e in at.error)
