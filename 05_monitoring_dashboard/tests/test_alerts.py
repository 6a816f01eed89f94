"""Each alert rule fires and stays quiet on crafted inputs (the loop's rules too); the webhook posts
to a real server; ``evaluate_alerts`` against the real API."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from edip_dashboard.alerts import (
    Alert,
    WebhookError,
    error_share,
    evaluate_alerts,
    post_webhook,
    rule_actuals_stale,
    rule_api_errors,
    rule_drift,
    rule_fallback,
    rule_mape,
    rule_no_issuance,
    rule_stale,
    rule_store_damaged,
    webhook_payload,
)
from edip_dashboard.client import ApiClient
from edip_dashboard.config import DashboardSettings
from edip_dashboard.drift import DriftResult

from .platform import Platform


def _day(date: str, mape: float, n: int = 24, name: str = "lightgbm", version: str = "1") -> dict:
    return {"date": date, "model_name": name, "model_version": version, "n": n, "mape": mape}


def test_mape_fires_after_k_bad_days() -> None:
    daily = [_day("2020-12-20", 0.02), _day("2020-12-21", 0.07), _day("2020-12-22", 0.08)]
    alert = rule_mape(daily, threshold=0.05, days=2, model_name="lightgbm", model_version="1")
    assert alert is not None
    assert alert.rule == "mape"
    assert alert.value == pytest.approx(0.08)
    assert "2020-12-21 7.0%" in alert.message
    assert alert.severity == "warning"


def test_mape_quiet_when_a_recent_day_is_good_or_history_too_short() -> None:
    daily = [_day("2020-12-20", 0.07), _day("2020-12-21", 0.02), _day("2020-12-22", 0.08)]
    assert rule_mape(daily, 0.05, 2) is None
    assert rule_mape([_day("2020-12-22", 0.09)], 0.05, 2) is None
    assert rule_mape([], 0.05, 1) is None


def test_mape_filters_the_model_and_weights_by_n() -> None:
    daily = [_day("2020-12-22", 0.09, name="old"), _day("2020-12-22", 0.01, name="lightgbm")]
    assert rule_mape(daily, 0.05, 1, model_name="lightgbm") is None
    assert rule_mape(daily, 0.05, 1, model_name="old") is not None
    # all models: (0.09·10 + 0.01·30) / 40 = 0.03
    weighted = [_day("2020-12-22", 0.09, n=10, name="a"), _day("2020-12-22", 0.01, n=30, name="b")]
    assert rule_mape(weighted, 0.05, 1) is None
    assert rule_mape(weighted, 0.02, 1) is not None


def test_mape_critical_when_twice_the_threshold() -> None:
    alert = rule_mape([_day("2020-12-22", 0.2)], 0.05, 1)
    assert alert is not None
    assert alert.severity == "critical"


NOW = datetime(2020, 12, 25, tzinfo=UTC)


def test_stale_fires_on_old_data_only() -> None:
    fresh = {
        "dataset": "load_national",
        "variable": "consumption_mw",
        "last": "2020-12-24T22:00:00Z",
    }
    old = {"dataset": "weather", "variable": "t", "last": "2020-12-24T12:00:00Z"}
    assert rule_stale([fresh], 6, NOW) is None
    alert = rule_stale([fresh, old], 6, NOW)
    assert alert is not None
    assert "weather/t" in alert.message
    assert "load_national" not in alert.message
    assert alert.value == pytest.approx(12.0)


def test_stale_uses_api_age_without_last_and_skips_unknown() -> None:
    assert rule_stale([{"dataset": "x", "age_hours": 30.0}], 6, NOW) is not None
    assert rule_stale([{"dataset": "x", "age_hours": 1.0}], 6, NOW) is None
    assert rule_stale([{"dataset": "x"}], 6, NOW) is None


def _drift(column: str, status: str, psi: float | None) -> DriftResult:
    return DriftResult(column, 100, 100, psi, 0.1, 0.5, 1.0, 1.0, status, f"{column} reason")


def test_drift_fires_on_drifted_columns_only() -> None:
    assert rule_drift([_drift("load_mw", "ok", 0.01), _drift("t", "no data", None)], 0.25) is None
    alert = rule_drift([_drift("load_mw", "drift", 0.6), _drift("t", "ok", 0.1)], 0.25)
    assert alert is not None
    assert "load_mw" in alert.title
    assert "t," not in alert.title
    assert alert.severity == "critical"


def test_fallback_rule() -> None:
    assert rule_fallback({"source": "registry", "name": "lightgbm"}) is None
    alert = rule_fallback(
        {"source": "fallback", "name": "same_hour_last_week", "reason": "registry unreachable"}
    )
    assert alert is not None
    assert "registry unreachable" in alert.message


def test_store_damaged_rule_reads_the_ready_reports() -> None:
    assert rule_store_damaged({"readable": True, "damage": []}) is None
    assert rule_store_damaged({"readable": True}) is None  # an API from before the reports
    line = (
        "load_national v7 damaged: interim/.versions/load_national-x/year=2020/part.parquet "
        "(checksum mismatch); serving v8; repair: edip data repair --dataset load_national"
    )
    alert = rule_store_damaged({"readable": True, "damage": [line]})
    assert alert is not None
    assert alert.severity == "critical"
    assert "year=2020/part.parquet" in alert.message
    assert "edip data repair --dataset load_national" in alert.message


PROM = """# HELP edip_requests_total Requests.
# TYPE edip_requests_total counter
edip_requests_total{route="/v1/forecast",method="GET",status="200"} 90.0
edip_requests_total{route="/v1/forecast",method="GET",status="503"} 10.0
edip_requests_total{route="/health",method="GET",status="200"} 100.0
"""


def test_error_share_and_api_rule() -> None:
    errors, total = error_share(PROM)
    assert (errors, total) == (10.0, 200.0)
    assert rule_api_errors([], errors, total, max_share=0.1) is None
    alert = rule_api_errors([], errors, total, max_share=0.01)
    assert alert is not None
    assert alert.severity == "warning"
    down = rule_api_errors(["connection refused"])
    assert down is not None
    assert down.severity == "critical"
    assert rule_api_errors([], 0, 0) is None


def test_no_issuance_fires_after_the_deadline_only() -> None:
    before = datetime(2020, 11, 2, 11, 30, tzinfo=UTC)  # 12:30 Paris
    after = datetime(2020, 11, 2, 12, 5, tzinfo=UTC)  # 13:05 Paris
    assert rule_no_issuance(before, [], 13) is None
    alert = rule_no_issuance(after, [], 13)
    assert alert is not None
    assert "2020-11-03" in alert.title
    issued = [{"target_day": "2020-11-03", "status": "late"}]
    assert rule_no_issuance(after, issued, 13) is None
    missed = rule_no_issuance(after, [{"target_day": "2020-11-03", "status": "missed"}], 13)
    assert missed is not None
    assert "missed" in missed.message


def test_actuals_stale_measures_against_the_loops_clock() -> None:
    now = datetime(2020, 11, 2, 12, tzinfo=UTC)
    assert rule_actuals_stale(datetime(2020, 11, 2, 10, tzinfo=UTC), now, 3) is None
    stale = rule_actuals_stale(datetime(2020, 11, 2, 6, tzinfo=UTC), now, 3)
    assert stale is not None
    assert stale.value == 6.0
    assert rule_actuals_stale(None, now, 3) is not None


ALERTS = [
    Alert(rule="fallback_model", severity="critical", title="Fallback model in use", message="x"),
    Alert(rule="mape", severity="warning", title="MAPE", message="y", value=0.07, threshold=0.05),
]


def test_webhook_posts_the_alerts(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    assert post_webhook(httpserver.url_for("/hook"), ALERTS) == 200
    httpserver.check_assertions()
    ((request, _),) = httpserver.log
    body = json.loads(request.get_data())
    assert body == webhook_payload(ALERTS)
    assert [a["rule"] for a in body["alerts"]] == ["fallback_model", "mape"]
    assert "[CRITICAL] Fallback model in use" in body["text"]


def test_webhook_errors_are_clear(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("nope", status=500)
    with pytest.raises(WebhookError, match="HTTP 500"):
        post_webhook(httpserver.url_for("/hook"), ALERTS)
    with pytest.raises(WebhookError, match="unreachable"):
        post_webhook("http://127.0.0.1:9/hook", ALERTS, timeout_s=2)


def test_webhook_errors_never_show_the_hooks_token(httpserver: HTTPServer) -> None:
    """A failed post logged the whole webhook URL, its token (the path) included."""
    token = "S3cr3tT0ken"
    httpserver.expect_request(f"/services/T0/B0/{token}").respond_with_data("no", status=404)
    with pytest.raises(WebhookError) as refused:
        post_webhook(httpserver.url_for(f"/services/T0/B0/{token}"), ALERTS)
    assert token not in str(refused.value)
    assert f":{httpserver.port}/…" in str(refused.value)
    with pytest.raises(WebhookError) as unreachable:
        post_webhook(f"http://127.0.0.1:9/services/T0/B0/{token}", ALERTS, timeout_s=2)
    assert token not in str(unreachable.value)


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
