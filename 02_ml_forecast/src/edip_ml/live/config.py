"""Settings of the daily loop (environment, prefix ``EDIP_LIVE_``; also read from ``.env``)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from edip_pipeline.calendar import PARIS

_SLOT = re.compile(r"^D(-1)? ([01][0-9]|2[0-3]):([0-5][0-9])$")


def parse_slot(slot: str) -> tuple[int, int, int]:
    """``'D-1 18:00'`` → (day offset −1, hour 18, minute 0); ValueError when malformed."""
    m = _SLOT.match(slot)
    if m is None:
        raise ValueError(f"intraday slot {slot!r} must look like 'D-1 18:00' or 'D 09:00'")
    return (-1 if m.group(1) else 0), int(m.group(2)), int(m.group(3))


class LiveSettings(BaseSettings):
    """When each deployment runs, what the gate demands, what the weekly retrain trains."""

    model_config = SettingsConfigDict(
        env_prefix="EDIP_LIVE_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    api_url: str = Field(
        "http://127.0.0.1:8000",
        description="The EDIP API the loop issues through (EDIP_API_URL is read as well).",
    )
    api_key: SecretStr = Field(
        SecretStr("edip-dev-key"), description="X-API-Key of the API's write endpoints."
    )
    timezone: str = Field(PARIS, description="Time zone of every schedule below.")
    issuance_hour: int = Field(12, ge=0, le=23, description="D-1 hour the forecast of D is due.")
    late_after_min: float = Field(
        15.0, ge=0, description="Minutes after the due time an issuance is labelled late."
    )
    horizon_h: int = Field(48, ge=24, le=48, description="Hours forecast from the origin.")
    catch_up_days: int = Field(
        14, ge=1, description="How far back a restarted loop looks for issuances it missed."
    )
    max_data_age_h: float = Field(
        6.0, gt=0, description="Gate: the store's last load may be at most this old at issuance."
    )
    gap_window_days: int = Field(
        15, ge=1, description="Gate: days of load before the origin the features look back on."
    )
    max_gap_share: float = Field(
        0.05, ge=0, le=1, description="Gate: largest missing share of load in that window."
    )
    sync_lookback_h: int = Field(
        72, ge=1, description="Hours of actuals re-sent by each sync (revisions are upserts)."
    )
    intraday_slots: list[str] = Field(
        default_factory=lambda: [
            "D-1 18:00",
            "D 06:00",
            "D 09:00",
            "D 12:00",
            "D 15:00",
            "D 18:00",
        ],
        description="Intraday re-issues of day D after its day-ahead: 'D-1 HH:MM' or 'D HH:MM' "
        "(Paris); each is issued from the data known then, once, never back-dated ([] = none).",
    )
    intraday_cron: str = Field(
        "0 6,9,12,15,18 * * *",
        description="Cron of issue-intraday: every slot's time (a run issues the slots due).",
    )
    issue_cron: str | None = Field(
        None, description="Cron of issue-forecast (default: '0 <issuance_hour> * * *')."
    )
    sync_cron: str = Field("10 * * * *", description="Cron of sync-actuals (hourly).")
    update_cron: str = Field(
        "40 11 * * *",
        description="Cron of update: just before the issuance (after the 11:05 ingest), so that "
        "the forecast issued at 12:00 has absorbed every load published by then (ml.absorb_lag), "
        "as the backtest's origin does.",
    )
    retrain_cron: str = Field("0 3 * * 1", description="Cron of retrain (weekly, Monday 03:00).")
    alerts_cron: str = Field("15 * * * *", description="Cron of alerts (hourly).")
    retrain_models: list[str] = Field(
        default_factory=lambda: ["lightgbm"], description="Challengers trained by retrain."
    )
    retrain_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description='Hyper-parameter overrides of the challengers ({"lightgbm": {...}}).',
    )
    retrain_history_days: int | None = Field(
        None, ge=30, description="Days of history the challengers train on (None: all)."
    )
    retrain_backtest_days: int = Field(
        14, ge=1, description="Days backtested for each challenger's report."
    )
    promotion_window_days: int = Field(
        7,
        ge=1,
        description="Days of the promotion gate's window; the challengers are trained "
        "up to the day before it (so it judges them on days they never saw).",
    )
    promotion_max_mape: float | None = Field(
        None, description="Absolute MAPE gate of a challenger (default: ml.promotion)."
    )
    live_min_days: int = Field(
        3, ge=1, description="Days of live error needed before it replaces the offline one."
    )
    alert_webhook_url: SecretStr | None = Field(
        None,
        description="Where a failed gate's alert is posted (EDIP_ALERT_WEBHOOK_URL too); a "
        "secret: its path is the hook's token.",
    )
    retries: int = Field(
        11,
        ge=0,
        description="Retries of a failed issue-forecast run (and, in a simulation, of any job "
        "but retrain), so that a day is recorded missed only when it can no longer be issued; a "
        "simulation also stops once the job's next scheduled run is due (it catches up).",
    )
    retry_delay_min: float = Field(
        60.0, gt=0, description="Minutes between a failed run and its retry."
    )
    sim_hours: dict[str, list[int]] = Field(
        default_factory=lambda: {
            "ingest": [7, 11, 17],
            "sync-actuals": [11],
            "alerts": [13],
            "issue-intraday": [9, 18],
        },
        description="Simulation: the hours at which the hourly deployments run (the rest are "
        "skipped so that a day takes seconds); ingest at 11:05 so that the 11:40 update finds "
        "the morning's load, as the hourly ingest gives it in production, at 07:05 and 17:05 so "
        "that the intraday re-issues pass the gate's freshness check; issue-intraday at 09:00 "
        "and 18:00 of its slots.",
    )
    sim_alerts: bool = Field(True, description="Simulation: run the alerts deployment too.")

    @field_validator("intraday_slots")
    @classmethod
    def _slots(cls, value: list[str]) -> list[str]:
        for slot in value:
            parse_slot(slot)
        return value

    @property
    def issue_schedule(self) -> str:
        return self.issue_cron or f"0 {self.issuance_hour} * * *"


def live_settings(**overrides: Any) -> LiveSettings:
    """Settings from the environment; EDIP_API_URL / EDIP_API_KEY / EDIP_ALERT_WEBHOOK_URL fill in."""
    import os

    values: dict[str, Any] = {}
    for env, key in (
        ("EDIP_API_URL", "api_url"),
        ("EDIP_API_KEY", "api_key"),
        ("EDIP_ALERT_WEBHOOK_URL", "alert_webhook_url"),
    ):
        if os.environ.get(env) and not os.environ.get(f"EDIP_LIVE_{key.upper()}"):
            values[key] = os.environ[env]
    values.update(overrides)
    return LiveSettings(**values)
