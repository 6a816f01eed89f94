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

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from edip_pipeline.config import Settings as PipelineSettings

DEFAULT_API_KEY = "edip-dev-key"
#: keys published anywhere in the project (defaults, .env.example, the k8s example Secret, the
#: test suite): never accepted outside development
EXAMPLE_API_KEYS = frozenset({DEFAULT_API_KEY, "edip-test-key", "change-me", "REPLACE_ME"})
#: shortest key accepted outside development (``secrets.token_urlsafe(32)`` gives 43)
MIN_API_KEY_LENGTH = 32
Environment = Literal["development", "staging", "production"]
#: the one variable naming the environment; look-alikes are refused rather than ignored
ENVIRONMENT_VARIABLE = "EDIP_ENVIRONMENT"
_LOOK_ALIKE = "EDIP_ENV"


class Settings(PipelineSettings):
    """Where the API reads its model, data and log store, and how it protects itself.

    ``data_dir`` and ``params_file`` come from :class:`edip_pipeline.config.Settings`.
    """

    model_config = SettingsConfigDict(
        env_prefix="EDIP_", env_file=".env", extra="ignore", populate_by_name=True
    )

    environment: Environment = Field(
        "development",
        description="EDIP_ENVIRONMENT: development | staging | production (outside development "
        "the API key must be a secret of at least 32 characters).",
    )
    api_key: SecretStr = Field(
        SecretStr(DEFAULT_API_KEY),
        description="Key expected in X-API-Key on write endpoints; the default is refused "
        "outside development.",
    )
    database_url: str | None = Field(
        None,
        description="Log store URL (SQLAlchemy); default sqlite:///<data_dir>/edip_log.db.",
    )
    mlflow_tracking_uri: str = Field(
        "http://127.0.0.1:5000",
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "mlflow_tracking_uri"),
        description="MLflow tracking/registry server (read without prefix).",
    )
    model_name: str = Field("edip-load-fr", description="Registered model served.")
    model_alias: str = Field("champion", description="Registry alias served.")
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
        description="Append every served forecast to an fsync'd write-ahead file before "
        "answering (<spill dir>/wal), replayed at start: no acknowledged row is lost to a "
        "kill -9. Off saves the fsync per request group and loses the queue on a crash.",
    )
    shutdown_budget_s: float = Field(
        25.0,
        ge=3,
        le=600,
        description="Longest graceful stop, SIGTERM to exit: in-flight requests get 40 %, "
        "draining the log queue (database retries included) the rest less 3 s kept for the "
        "model poller and the spill. Keep it under the orchestrator's grace period (Kubernetes default 30 s).",
    )
    forecast_cache_size: int = Field(
        512, ge=0, description="Forecasts kept per (origin, horizon, data, model) in the LRU."
    )

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
        ran in development mode with the published development key.
        """
        value = os.environ.get(_LOOK_ALIKE)
        if value is not None and value != self.environment:
            raise ValueError(
                f"{_LOOK_ALIKE}={value!r} is not read: the environment is set by "
                f"{ENVIRONMENT_VARIABLE} (now {self.environment!r}); rename the variable"
            )
        if self.environment == "development":
            return
        key = self.api_key.get_secret_value()
        if key.strip() in EXAMPLE_API_KEYS or not key.strip():
            raise ValueError(
                f"EDIP_API_KEY is empty or a documented example/default in {self.environment}: "
                "set a secret key (python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        if len(key.strip()) < MIN_API_KEY_LENGTH or key != key.strip():
            raise ValueError(
                f"EDIP_API_KEY is too weak for {self.environment}: at least "
                f"{MIN_API_KEY_LENGTH} characters, no surrounding spaces, are required"
            )

    @property
    def log_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'edip_log.db'}"

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


def get_settings() -> Settings:
    """Fresh settings from the environment (the app keeps its own instance)."""
    return Settings()
