"""Runtime settings of the API (environment, prefix ``EDIP_``, ``.env`` file).

Why one object: the service, ``edip serve``/``edip replay`` and the tests configure the same
knobs the same way; the contract of every variable is in the project README (API section).
Why a subclass of the pipeline's settings: ``EDIP_DATA_DIR`` and ``EDIP_PARAMS_FILE`` (where the
Store and ``params.yaml`` are) are declared once, there, and mean the same in both processes.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict

from edip_api.core.security import DEFAULT_API_KEY, MAKE_A_KEY, weak_key_reason
from edip_pipeline.config import Settings as PipelineSettings
from edip_pipeline.registry_names import CHAMPION, INTRADAY_MODEL, REGISTERED_MODEL

Environment = Literal["development", "staging", "production"]
#: who gets an answer written to the prediction log without the key (README "Security")
AnonymousLogging = Literal["none", "forecast", "all"]
#: the one variable naming the environment; look-alikes are refused rather than ignored
ENVIRONMENT_VARIABLE = "EDIP_ENVIRONMENT"
_LOOK_ALIKE = "EDIP_ENV"


class SettingsError(ValueError):
    """A refused setting, named, never with its value (pydantic wraps it in a ValidationError
    whose input is hidden: ``hide_input_in_errors``)."""


class Settings(PipelineSettings):
    """Where the API reads its model, data and log store, and how it protects itself.

    ``data_dir`` and ``params_file`` come from :class:`edip_pipeline.config.Settings`.
    """

    model_config = SettingsConfigDict(
        env_prefix="EDIP_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    environment: Environment = Field(
        "development",
        description="EDIP_ENVIRONMENT: development | staging | production (outside development "
        "the API key must be a random secret: 32+ characters, 16+ distinct, no repeated pattern).",
    )
    api_key: SecretStr = Field(
        SecretStr(DEFAULT_API_KEY),
        description="Key expected in X-API-Key on write endpoints; the default is refused "
        "outside development.",
    )
    database_url: SecretStr | None = Field(
        None,
        description="Log store URL (SQLAlchemy); default sqlite:///<data_dir>/edip_log.db. A "
        "secret (it may hold a password): logged with the password masked.",
    )
    mlflow_tracking_uri: str = Field(
        "http://127.0.0.1:5000",
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "mlflow_tracking_uri"),
        description="MLflow tracking/registry server (read without prefix).",
    )
    model_name: str = Field(REGISTERED_MODEL, description="Registered model served.")
    model_alias: str = Field(CHAMPION, description="Registry alias served.")
    intraday_model_name: str = Field(
        INTRADAY_MODEL,
        description="Registered model of GET /v1/forecast/intraday (its model_alias version); "
        "when it has none, the day-ahead model answers and says so.",
    )
    model_poll_s: float = Field(
        30.0, gt=0, description="Seconds between two checks of the alias in the registry."
    )
    registry_timeout_s: float = Field(
        10.0, gt=0, description="HTTP timeout of one registry call (fail fast to the fallback)."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (JSON list)."
    )
    max_body_bytes: int = Field(
        24_000_000,
        gt=0,
        description="Largest request body (413 above); the default fits the documented "
        "10,000-row /v1/predict batch (about 18 MB with every feature at full precision).",
    )
    replay_now: datetime | None = Field(
        None, description="'Now' of a replayed past period (ISO time with offset)."
    )
    log_batch_size: int = Field(500, gt=0, description="Prediction rows per log-store insert.")
    log_flush_interval_s: float = Field(
        0.2, gt=0, description="Longest wait before a partial batch is written."
    )
    log_max_queue: int = Field(
        200_000, gt=0, description="Queued prediction rows before the API answers 503."
    )
    log_spill_dir: Path | None = Field(
        None, description="Where unwritable records are spilled at shutdown (<data_dir>/log_spill)."
    )
    log_wal: bool = Field(
        True,
        description="Answer a logged forecast only once its rows are durable: committed (one "
        "commit and fsync for the requests that arrived together), or, while the database "
        "refuses them, in an fsync'd write-ahead file (<spill dir>/wal) replayed at start: no "
        "acknowledged row is lost to a kill -9. Off answers at once and loses the queue on a crash.",
    )
    shutdown_budget_s: float = Field(
        25.0,
        ge=3,
        le=600,
        description="Longest graceful stop, SIGTERM to exit: in-flight requests get 40 %, "
        "draining the log queue (database retries included) the rest less 3 s kept for the "
        "model poller and the spill. Keep it under the orchestrator's grace period (Kubernetes default 30 s).",
    )
    store_check_s: float = Field(
        1.0,
        ge=0,
        description="Seconds between two checks of the store's data version (a readlink per "
        "dataset and a stat): new data is served at most this late; 0 checks on every request.",
    )
    forecast_cache_size: int = Field(
        512, ge=0, description="Forecasts kept per (origin, horizon, data, model) in the LRU."
    )

    anonymous_logging: AnonymousLogging = Field(
        "none",
        description="Which answers to callers without the API key are written to the prediction "
        "log: none (default: the log holds what key holders — the loop, replays, operators — "
        "were served, so anonymous traffic cannot fill it nor move the accuracy metrics), "
        "forecast (/v1/forecast answers too, at most 48 rows each), all (/v1/predict too).",
    )
    anonymous_max_body_bytes: int = Field(
        1_000_000,
        gt=0,
        description="Largest request body without the API key (413 above; about 500 /v1/predict "
        "rows); key holders get EDIP_MAX_BODY_BYTES.",
    )
    rate_limit_enabled: bool = Field(
        True, description="Rate-limit callers without the API key (429 with Retry-After)."
    )
    rate_limit_anonymous: str = Field(
        "600/minute",
        description="Requests per client address without the key, all routes but /health, "
        "/ready and /metrics (limits notation: '600/minute', '20/second;600/minute').",
    )
    rate_limit_anonymous_compute: str = Field(
        "60/minute",
        description="Of those, /v1/forecast and /v1/predict requests (each runs the model) per "
        "client address without the key.",
    )
    rate_limit_storage_uri: SecretStr = Field(
        SecretStr("memory://"),
        description="Where the counters live (limits storage URI): memory:// counts per worker "
        "process; redis://host:6379 shares them between workers and replicas (needs the redis "
        "package). A secret: it may hold a password.",
    )

    @field_validator("rate_limit_anonymous", "rate_limit_anonymous_compute")
    @classmethod
    def _limit(cls, value: str, info: ValidationInfo) -> str:
        try:
            parse_many(value)
        except ValueError:
            name = f"EDIP_{(info.field_name or '').upper()}"
            raise ValueError(f"{name} must look like 600/minute or 20/second;600/minute") from None
        return value

    @field_validator("replay_now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("EDIP_REPLAY_NOW needs a UTC offset, e.g. 2020-12-20T12:00:00+01:00")
        return value

    @model_validator(mode="after")
    def _refuse_default_key(self) -> Settings:
        self.check()
        return self

    def check(self) -> None:
        """Refuse a weak key outside development, and a mistyped environment variable anywhere.

        Why refuse ``EDIP_ENV``: it used to be ignored silently, so a "production" deployment
        ran in development mode with the published development key. Raises
        :class:`SettingsError`, naming the setting, never its value.
        """
        value = os.environ.get(_LOOK_ALIKE)
        if value is not None and value != self.environment:
            raise SettingsError(
                f"{_LOOK_ALIKE} is set but not read: the environment is set by "
                f"{ENVIRONMENT_VARIABLE} (now {self.environment!r}); rename the variable"
            )
        if self.environment == "development":
            return
        reason = weak_key_reason(self.api_key.get_secret_value())
        if reason is not None:
            raise SettingsError(
                f"EDIP_API_KEY is refused in {self.environment}: {reason}. It must be a random "
                f"secret of 32+ characters (16+ distinct, no repeated pattern); make one with: "
                f"{MAKE_A_KEY}"
            )

    @property
    def log_database_url(self) -> str:
        if self.database_url is not None and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.data_dir / 'edip_log.db'}"

    @property
    def spill_dir(self) -> Path:
        return self.log_spill_dir or self.data_dir / "log_spill"

    @property
    def graceful_requests_s(self) -> int:
        """uvicorn's --timeout-graceful-shutdown: the in-flight requests' share of the budget."""
        return max(1, int(self.shutdown_budget_s * 0.4))

    @property
    def writer_drain_s(self) -> float:
        """What is left for the log writer's drain: 2 s are kept for the model poller's stop
        and 1 s for the spill and the exit."""
        return max(self.shutdown_budget_s - self.graceful_requests_s - 3.0, 1.0)

    @property
    def wal_dir(self) -> Path:
        """Next to the spill: both must be on durable storage."""
        return self.spill_dir / "wal"


def describe_refusal(exc: ValueError) -> str:
    """One line per refused setting, named ``EDIP_<FIELD>``, never with its value."""
    if not isinstance(exc, ValidationError):
        return str(exc)
    lines = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        field = ".".join(str(p) for p in error["loc"])
        name = f"EDIP_{field.upper()}: " if field else ""
        lines.append(name + error["msg"].removeprefix("Value error, "))
    return "\n".join(lines)


def get_settings() -> Settings:
    """Fresh settings from the environment (the app keeps its own instance)."""
    return Settings()
