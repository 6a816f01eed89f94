"""The GAM's effects and the feature columns each reads (shared by the model and its ONNX graph)."""

from __future__ import annotations

EFFECTS: tuple[str, ...] = ("level", "temperature", "calendar", "season", "lag_1d", "lag_7d")
CALENDAR_FLAGS: tuple[str, ...] = (
    "is_bridge_day",
    "is_day_before_holiday",
    "is_day_after_holiday",
    "school_holiday_zones",
    "is_christmas_break",
    "is_august_break",
    "is_clock_change_day",
)
LAGS: dict[str, str] = {"lag_1d": "load_lag_1d", "lag_7d": "load_same_hour_last_week"}


def temperature_columns(names: list[str]) -> list[str]:
    """Instantaneous then smoothed temperatures among ``names``."""
    return [c for c in names if c == "temperature_c" or c.startswith("temperature_ewm_")]
