"""The Alerts page with Streamlit's AppTest: it shows what ``evaluate_alerts`` finds."""

from __future__ import annotations

from edip_dashboard.alerts import evaluate_alerts
from edip_dashboard.client import ApiClient
from edip_dashboard.config import DashboardSettings

from ..apptest import metrics, run_page
from ..platform import Platform


def test_alerts_page_matches_evaluate_alerts(api_env: Platform) -> None:
    at = run_page("alerts")
    assert not at.exception
    with ApiClient(api_env.api_url) as c:
        expected = evaluate_alerts(c, DashboardSettings(api_url=api_env.api_url))  # type: ignore[arg-type]
    assert metrics(at)["Alerts"] == str(len(expected)), [a.message for a in expected]
    shown = [e.value for e in at.error] + [w.value for w in at.warning]
    for alert in expected:
        assert any(alert.title in s for s in shown), (alert.title, shown)
    # healthy API, fresh data, registry
    assert {a.rule for a in expected} <= {"drift", "mape"}, [a.message for a in expected]
    assert len(at.dataframe[0].value) == 5  # the rules table
