"""The alert flow: plain (``.fn``) and as a real Prefect run, posting what ``evaluate_alerts`` finds."""

from __future__ import annotations

import json

import pytest
from prefect.testing.utilities import prefect_test_harness
from pytest_httpserver import HTTPServer

from edip_dashboard.alerts import evaluate_alerts
from edip_dashboard.client import ApiClient
from edip_dashboard.config import DashboardSettings
from edip_dashboard.flows import alerts_flow

from .platform import Platform


def test_flow_posts_what_evaluate_alerts_finds(
    platform: Platform, httpserver: HTTPServer, hook: str
) -> None:
    fired = alerts_flow.fn(api_url=platform.api_url, webhook_url=hook)
    with ApiClient(platform.api_url) as c:
        expected = evaluate_alerts(c, DashboardSettings(api_url=platform.api_url))  # type: ignore[arg-type]
    assert [a["rule"] for a in fired] == [a.rule for a in expected]
    if fired:
        ((request, _),) = httpserver.log
        assert json.loads(request.get_data())["alerts"] == fired
    else:
        assert not httpserver.log


def test_tight_thresholds_fire_and_post(
    platform: Platform, httpserver: HTTPServer, hook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every day above 0.1 % MAPE: the MAPE rule must fire
    monkeypatch.setenv("EDIP_MAPE_THRESHOLD", "0.001")
    monkeypatch.setenv("EDIP_MAPE_DAYS", "3")
    fired = alerts_flow.fn(api_url=platform.api_url, webhook_url=hook)
    rules = {a["rule"] for a in fired}
    assert "mape" in rules
    assert "stale_data" not in rules
    assert "fallback_model" not in rules
    assert "api_errors" not in rules
    body = json.loads(httpserver.log[0][0].get_data())
    assert {a["rule"] for a in body["alerts"]} == rules
    assert "EDIP:" in body["text"]


def test_flow_as_a_real_prefect_run(platform: Platform) -> None:
    with prefect_test_harness(server_startup_timeout=90):
        state = alerts_flow(api_url=platform.api_url, post=False, return_state=True)
    assert state.is_completed()
    assert isinstance(state.result(), list)
