"""Typed settings of the dashboard and of the alert flow (env prefix ``EDIP_``, ``.env`` file).

Why one class: the Streamlit pages, ``evaluate_alerts`` and the Prefect flow must judge the same
thresholds, so an alert seen in the app is the alert posted to the webhook.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Annotated

from pydantic import AnyHttpUrl, Field, SecretStr, TypeAdapter, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DRIFT_COLUMNS: tuple[str, ...] = (
    "load_mw",
    "temperature_c",
    "load_lag_1d",
    "load_same_hour_last_week",
    "load_roll_mean_24h",
)


_HTTP_URL = TypeAdapter(AnyHttpUrl)


class DashboardSettings(BaseSettings):
    """Where the API is, how long answers are cached, and when an alert fires."""

    #: a refused value is never echoed: the webhook URL is a secret (its path is the token)
    model_config = SettingsConfigDict(
        env_prefix="EDIP_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8000"),
        description="Base URL of the EDIP API; the dashboard reads everything from it.",
    )
    alert_webhook_url: SecretStr | None = Field(
        default=None,
        description="When set, alerts are POSTed there as JSON (Slack/Teams-style incoming hook); "
        "a secret (an incoming hook's path is its token): logs show its host only.",
    )
    dashboard_port: int = Field(
        default=8501, ge=1, le=65535, description="Port `edip dashboard` serves Streamlit on."
    )
    dashboard_address: str = Field(
        default="127.0.0.1",
        description="Interface `edip dashboard` listens on: this machine only by default (the "
        "dashboard has no login); containers set 0.0.0.0 explicitly, behind their own port rules.",
    )
    replay_now: datetime | None = Field(
        default=None,
        description="Pin the dashboard's 'now' (ISO, for replayed periods); default: derived from the API's data.",
    )
    api_timeout_s: float = Field(
        default=15.0, gt=0, description="Per-request HTTP timeout against the API (seconds)."
    )
    page_limit: int = Field(
        default=5000, ge=1, le=5000, description="Items per page when paging list endpoints."
    )
    cache_ttl_s: int = Field(
        default=60, ge=0, description="How long API answers are cached by the app (seconds)."
    )
    replay_gap_h: float = Field(
        default=48.0,
        gt=0,
        description="If the API's latest data is older than this, the period is treated as a replay "
        "and 'now' becomes that latest data time.",
    )
    history_days: int = Field(
        default=28, ge=1, le=92, description="Days of history the Performance page reads."
    )
    # -- alert thresholds ------------------------------------------------------------------
    mape_threshold: float = Field(
        default=0.05, gt=0, description="Daily MAPE (fraction) above which a day counts as bad."
    )
    mape_days: int = Field(
        default=2, ge=1, description="Consecutive bad days (the most recent ones) before alerting."
    )
    stale_hours: float = Field(
        default=6.0, gt=0, description="A dataset older than this (hours) is stale."
    )
    issuance_deadline_hour: int = Field(
        default=13,
        ge=0,
        le=23,
        description="Paris hour by which tomorrow's forecast must be issued (else an alert).",
    )
    actuals_stale_hours: float = Field(
        default=6.0, gt=0, description="Actuals older than this (hours) in the log store alert."
    )
    psi_threshold: float = Field(
        default=0.25, gt=0, description="PSI above which a column has drifted (0.1 = watch)."
    )
    ks_threshold: float = Field(
        default=0.2, gt=0, le=1, description="KS statistic above which a column has drifted."
    )
    ks_alpha: float = Field(
        default=0.01, gt=0, lt=1, description="KS drift also needs a p-value below this."
    )
    drift_recent_days: int = Field(
        default=7, ge=1, le=92, description="Days before 'now' forming the recent distribution."
    )
    drift_reference_days: int = Field(
        default=365,
        ge=7,
        le=400,
        description="At most this many days at the end of the training period form the reference.",
    )
    drift_columns: Annotated[list[str], NoDecode] = Field(
        default=list(DEFAULT_DRIFT_COLUMNS),
        description="Columns compared (comma list or JSON list); 'load_mw' is the actual load.",
    )
    psi_bins: int = Field(default=10, ge=2, le=100, description="Quantile bins for the PSI.")
    api_error_rate: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of 5xx answers (from the API's /metrics) above which an alert fires.",
    )

    @field_validator("drift_columns", mode="before")
    @classmethod
    def _split_columns(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [c.strip() for c in text.split(",") if c.strip()]
        return value

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook_is_http(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        try:
            _HTTP_URL.validate_python(value.get_secret_value())
        except ValueError:
            raise ValueError("EDIP_ALERT_WEBHOOK_URL must be an http(s) URL") from None
        return value

    @property
    def webhook_url(self) -> str | None:
        """The webhook's URL in clear (to post to it; never to log it)."""
        return self.alert_webhook_url.get_secret_value() if self.alert_webhook_url else None

    @property
    def base_url(self) -> str:
        """The API URL without a trailing slash."""
        return str(self.api_url).rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> DashboardSettings:
    """The process-wide settings (``reset_settings_cache()`` after changing the environment)."""
    return DashboardSettings()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests, or after editing the environment)."""
    get_settings.cache_clear()
