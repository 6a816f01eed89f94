"""Every page with Streamlit's AppTest against the real API after a replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from edip_dashboard import ui
from edip_dashboard.alerts import evaluate_alerts
from edip_dashboard.client import ApiClient
from edip_dashboard.config import DashboardSettings, reset_settings_cache
from edip_dashboard.metrics import error_metrics

from .platform import Platform

APP = Path(__file__).resolve().parents[1] / "src" / "edip_dashboard" / "app.py"
TIMEOUT = 240


def run_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_now_page(api_env: Platform) -> None:
    at = run_page()
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Now"
    shown = metrics(at)
    # the headline is the API's own 7-day summary …
    with ApiClient(api_env.api_url) as c:
        from edip_dashboard.clock import effective_now

        now = effective_now(c, 48)
        summary = c.metrics_summary("7d", now)
    (model,) = summary["models"]
    assert shown["MAPE, last 7 days"] == ui.fmt_pct(model["mape"])
    assert shown["RTE D-1 MAPE"] == "—"  # the sample has no RTE forecast
    # … and the dashboard's own day-ahead selection agrees with the API's
    from edip_dashboard import loaders

    with ApiClient(api_env.api_url) as c:
        comp = loaders.comparison(c, now - __import__("datetime").timedelta(days=7), now)
    mine = error_metrics(comp["p50"], comp["actual"])
    assert mine.n == model["n"]
    assert mine.mape == pytest.approx(model["mape"], rel=1e-6)
    assert charts(at) == 1
    assert any("replayed period" in i.value.lower() for i in at.info)
    # the next 48 h table
    assert len(at.dataframe[0].value) == 48


def test_now_page_24h_horizon(api_env: Platform) -> None:
    at = run_page()
    at.get("button_group")[0].set_value(24).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 24


def test_performance_page(api_env: Platform) -> None:
    at = run_page("performance")
    assert not at.error, [e.value for e in at.error]
    overall = at.dataframe[0].value
    assert set(overall["forecaster"]) == {
        f"lightgbm v{api_env.champion_version}",
        "same hour last week",
    }
    assert (overall["n"] > 0).all()
    assert charts(at) == 6  # 3 daily tabs, hour, day type, versions
    versions = at.dataframe[-1].value
    assert list(versions["version"]) == [api_env.champion_version]
    assert "champion" in versions["aliases"].iloc[0]
    # narrowing the forecasters re-renders without the baseline
    at.multiselect[0].set_value([f"lightgbm v{api_env.champion_version}"]).run()
    assert not at.exception
    assert list(at.dataframe[0].value["forecaster"]) == [f"lightgbm v{api_env.champion_version}"]


def test_data_health_page(api_env: Platform) -> None:
    at = run_page("data_health")
    assert not at.error, [e.value for e in at.error]
    shown = metrics(at)
    assert shown["Datasets"] == "3"
    assert shown["Stale"] == "0"
    table = at.dataframe[0].value
    assert set(table["status"]) == {"fresh"}
    assert any("Prefect API is not reachable" in i.value for i in at.info)
    # 12 replayed Paris days, every hour received
    assert any("12 of" in c.value and "288 hours" in c.value for c in at.caption), [
        c.value for c in at.caption
    ]
    assert charts(at) == 1


def test_drift_page(api_env: Platform) -> None:
    at = run_page("drift")
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    # temperature_c is configured but not a feature of this model (no weather in the sample)
    assert list(table["column"]) == [
        "load_mw",
        "load_lag_1d",
        "load_same_hour_last_week",
        "load_roll_mean_24h",
    ]
    assert (table["n_recent"] == 168).all()
    assert (table["psi"] >= 0).all()
    assert metrics(at)["Columns compared"] == "4"
    assert charts(at) == 4
    # the thresholds are live: KS can no longer fire, only PSI above 10 counts
    at.number_input[0].set_value(10.0).run()
    at.number_input[1].set_value(1.0).run()
    assert metrics(at)["Drifted"] == str(int((table["psi"] > 10.0).sum()))
    at.number_input[0].set_value(0.01).run()
    assert metrics(at)["Drifted"] == str(int((table["psi"] > 0.01).sum()))


def test_alerts_page_matches_evaluate_alerts(api_env: Platform) -> None:
    at = run_page("alerts")
    assert not at.exception
    with ApiClient(api_env.api_url) as c:
        expected = evaluate_alerts(c, DashboardSettings(api_url=api_env.api_url))  # type: ignore[arg-type]
    assert metrics(at)["Alerts"] == str(len(expected))
    shown = [e.value for e in at.error] + [w.value for w in at.warning]
    for alert in expected:
        assert any(alert.title in s for s in shown), (alert.title, shown)
    assert {a.rule for a in expected} <= {"drift", "mape"}  # healthy API, fresh data, registry
    assert len(at.dataframe[0].value) == 5  # the rules table


def test_unreachable_api_is_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDIP_API_URL", "http://127.0.0.1:9")
    reset_settings_cache()
    for page in (None, "performance", "data_health", "drift"):
        at = run_page(page)
        assert "unreachable" in at.error[0].value
        assert charts(at) == 0
    at = run_page("alerts")
    assert "unreachable" in at.error[0].value.lower()
    assert metrics(at)["Critical"] == "1"
