"""The periods and columns the pages and the alerts share (the parts that need no API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edip_dashboard.config import DashboardSettings
from edip_dashboard.loaders import Period, drift_columns, drift_periods, thresholds

NOW = datetime(2020, 12, 25, tzinfo=UTC)


def test_period_days_and_paris_label() -> None:
    period = Period(datetime(2020, 12, 18, 23, tzinfo=UTC), NOW)
    assert period.days == 6 + 1 / 24
    assert period.label() == "2020-12-19 00:00 → 2020-12-25 01:00 (Paris)"


def test_drift_columns_are_the_configured_ones_the_model_knows() -> None:
    settings = DashboardSettings(drift_columns=["load_mw", "t", "load_lag_1d"])
    assert drift_columns(settings, {"feature_names": ["load_lag_1d"]}) == ["load_mw", "load_lag_1d"]
    assert drift_columns(settings, {}) == ["load_mw"]


def test_drift_periods_end_the_reference_with_training() -> None:
    settings = DashboardSettings(drift_recent_days=7, drift_reference_days=30)
    trained = {"trained_on": {"start": "2019-01-01T00:00:00Z", "end": "2020-11-30T00:00:00Z"}}
    reference, recent = drift_periods(trained, NOW, settings)
    assert recent == Period(NOW - timedelta(days=7), NOW)
    end = datetime(2020, 11, 30, tzinfo=UTC)
    assert reference == Period(end - timedelta(days=30), end)  # capped to drift_reference_days
    assert drift_periods({}, NOW, settings) == (None, recent)


def test_thresholds_come_from_the_settings() -> None:
    th = thresholds(
        DashboardSettings(psi_threshold=0.3, ks_threshold=0.5, ks_alpha=0.02, psi_bins=5)
    )
    assert (th.psi, th.ks_stat, th.ks_alpha, th.bins) == (0.3, 0.5, 0.02, 5)
