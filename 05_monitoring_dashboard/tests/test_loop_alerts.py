"""The loop's alert rules: no forecast for tomorrow by the deadline, actuals stale (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from edip_dashboard.alerts import rule_actuals_stale, rule_no_issuance


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
