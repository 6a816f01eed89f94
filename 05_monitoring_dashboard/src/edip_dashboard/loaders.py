"""API answers combined into what a page or an alert rule needs (frames, periods, column lists).

Why: the Streamlit pages (through their cached wrappers) and :func:`evaluate_alerts` must read the
same periods the same way; the pages then only lay out what these return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from edip_dashboard.client import ApiClient
from edip_dashboard.clock import paris_text, parse_time
from edip_dashboard.config import DashboardSettings
from edip_dashboard.drift import DriftThresholds
from edip_dashboard.frames import actuals_frame, features_frame, predictions_frame
from edip_dashboard.metrics import comparison_frame, day_ahead_forecasts

#: the actual load, accepted by ``/v1/features`` as a column
LOAD_COLUMN = "load_mw"


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)

    def label(self) -> str:
        return f"{paris_text(self.start)} → {paris_text(self.end)} (Paris)"


def comparison(client: ApiClient, start: datetime, end: datetime) -> pd.DataFrame:
    """Served day-ahead forecasts joined with actuals, RTE D-1 and last week's actuals.

    Actuals are read from a week before ``start`` so the same-hour-last-week baseline exists.
    """
    preds = predictions_frame(client.predictions(start, end))
    acts = actuals_frame(client.actuals(start - timedelta(days=7), end))
    return comparison_frame(day_ahead_forecasts(preds), acts)


def drift_columns(settings: DashboardSettings, model: dict[str, Any]) -> list[str]:
    """The configured drift columns the served model knows (``load_mw`` always)."""
    known = {LOAD_COLUMN, *(model.get("feature_names") or [])}
    return [c for c in settings.drift_columns if c in known]


def drift_periods(
    model: dict[str, Any], now: datetime, settings: DashboardSettings
) -> tuple[Period | None, Period]:
    """(reference, recent): the end of the training period (≤ ``drift_reference_days``) and the
    ``drift_recent_days`` before now. The reference is ``None`` when the model has no period."""
    recent = Period(now - timedelta(days=settings.drift_recent_days), now)
    trained = model.get("trained_on") or {}
    t_end = parse_time(trained.get("end"))
    if t_end is None:
        return None, recent
    t_start = parse_time(trained.get("start")) or t_end - timedelta(
        days=settings.drift_reference_days
    )
    t_start = max(t_start, t_end - timedelta(days=settings.drift_reference_days))
    return Period(t_start, t_end), recent


def features(client: ApiClient, period: Period, columns: list[str]) -> pd.DataFrame:
    """``/v1/features`` over ``period`` as a frame."""
    names, items = client.features(period.start, period.end, columns)
    frame = features_frame(names or columns, items)
    # the API answers whole days: keep the period only
    inside = (frame.index >= pd.Timestamp(period.start)) & (frame.index < pd.Timestamp(period.end))
    return frame[inside]


def thresholds(settings: DashboardSettings) -> DriftThresholds:
    """The drift thresholds of the settings."""
    return DriftThresholds(
        psi=settings.psi_threshold,
        ks_stat=settings.ks_threshold,
        ks_alpha=settings.ks_alpha,
        bins=settings.psi_bins,
    )
