"""Runtime settings (environment) and pipeline parameters (``params.yaml``).

Settings say *where* things are (directories, base URLs, credentials) and come from the environment
with the ``EDIP_`` prefix, so the same code runs on a laptop, in CI and in a container. Parameters
say *how* the pipeline behaves (gap policy, revision windows, feature lags); they live in
``params.yaml`` so DVC re-runs a stage when one changes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _find_repo_root(start: Path) -> Path | None:
    for parent in [start, *start.parents]:
        if (parent / "params.yaml").is_file() and (parent / "01_data_pipeline").is_dir():
            return parent
    return None


def default_root() -> Path:
    """The monorepo root when running from a checkout, else the current directory."""
    return _find_repo_root(Path.cwd()) or _find_repo_root(Path(__file__).resolve()) or Path.cwd()


class Settings(BaseSettings):
    """Where EDIP reads and writes, and how it reaches the outside world."""

    #: a refused value is never echoed (pydantic prints ``input_value`` by default): errors name
    #: the setting, and a secret in a neighbouring setting cannot leak through a refusal
    model_config = SettingsConfigDict(
        env_prefix="EDIP_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    data_dir: Path = Field(
        default_factory=lambda: default_root() / "data",
        description="Root of the data tree (raw/, interim/, processed/, manifest.json).",
    )
    params_file: Path = Field(
        default_factory=lambda: default_root() / "params.yaml",
        description="Pipeline parameters file; DVC stages depend on it.",
    )
    odre_base_url: str = Field(
        "https://odre.opendatasoft.com/api/explore/v2.1",
        description="ODRE Opendatasoft Explore v2.1 root (éCO2mix and other RTE datasets).",
    )
    openmeteo_archive_url: str = Field(
        "https://archive-api.open-meteo.com/v1/archive",
        description="Open-Meteo historical reanalysis endpoint.",
    )
    openmeteo_forecast_url: str = Field(
        "https://api.open-meteo.com/v1/forecast", description="Open-Meteo forecast endpoint."
    )
    openmeteo_historical_forecast_url: str = Field(
        "https://historical-forecast-api.open-meteo.com/v1/forecast",
        description="Open-Meteo archived-forecast endpoint (weather as it was forecast).",
    )
    openmeteo_previous_runs_url: str = Field(
        "https://previous-runs-api.open-meteo.com/v1/forecast",
        description="Open-Meteo previous-runs endpoint (forecast vintages, *_previous_dayN).",
    )
    meteofrance_base_url: str = Field(
        "https://donneespubliques.meteofrance.fr/donnees_libres/Txt/Synop/Archive",
        description="Météo-France SYNOP archive folder (monthly synop.YYYYMM.csv.gz files).",
    )
    enedis_base_url: str = Field(
        "https://opendata.enedis.fr/data-fair/api/v1",
        description="Enedis open-data (Data Fair) native API root.",
    )
    rte_base_url: str = Field(
        "https://digital.iservices.rte-france.com",
        description="RTE Data portal root (OAuth2 token and open_api endpoints).",
    )
    rte_client_id: SecretStr | None = Field(None, description="RTE Data portal OAuth2 client id.")
    rte_client_secret: SecretStr | None = Field(
        None, description="RTE Data portal OAuth2 client secret."
    )
    entsoe_base_url: str = Field(
        "https://web-api.tp.entsoe.eu/api",
        description="ENTSO-E Transparency Platform REST endpoint (entsoe-py's default).",
    )
    entsoe_token: SecretStr | None = Field(
        None,
        description="ENTSO-E Transparency Platform security token (a secret: never logged).",
    )
    weather_points: str = Field(
        "cities15",
        description="Weather points of the national weather mean: a shipped preset (cities15, "
        "rte35) or a CSV path (name, latitude, longitude, weight); see edip_pipeline.weather_points.",
    )
    http_timeout_s: float = Field(60.0, description="Per-request timeout in seconds.")
    http_max_attempts: int = Field(6, description="Attempts per request before giving up.")
    http_backoff_initial_s: float = Field(1.0, description="First retry wait (exponential).")
    http_backoff_max_s: float = Field(60.0, description="Ceiling of one retry wait.")

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def interim_dir(self) -> Path:
        return self.data_dir / "interim"

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed"

    @property
    def rte_enabled(self) -> bool:
        return bool(self.rte_client_id and self.rte_client_secret)

    @property
    def entsoe_enabled(self) -> bool:
        return bool(self.entsoe_token and self.entsoe_token.get_secret_value())


class GapPolicy(BaseModel):
    """How the cleaner treats holes in a regular series."""

    max_interpolate: str = Field(
        "2h", description="Gaps up to this long are linearly interpolated and flagged."
    )
    flat_line_min: str = Field(
        "6h", description="A constant run at least this long is flagged as a flat line."
    )
    outlier_z: float = Field(
        6.0,
        description="Robust z-score (vs a centred daily-median) above which a value is flagged.",
    )


class StoreParams(BaseModel):
    """Canonical store layout knobs."""

    step: str = Field("30min", description="Canonical step of load series (pandas offset).")
    gaps: GapPolicy = Field(default_factory=GapPolicy, description="Gap and anomaly policy.")


class IngestParams(BaseModel):
    """Incremental ingestion knobs."""

    default_start: str = Field("2019-01-01", description="First day fetched on an empty store.")
    revision_window_days: dict[str, int] = Field(
        default_factory=lambda: {"tr": 3, "cons-def": 95, "weather": 7, "enedis": 120, "rte": 3},
        description="Days re-fetched before the stored end, per vintage family (ODRE republishes).",
    )
    backfill_chunk_days: int = Field(92, description="Chunk length of a resumable backfill.")
    sources: list[str] = Field(
        default_factory=lambda: ["sample"], description="Sources the DVC ingest stage runs."
    )
    start: str | None = Field(
        None, description="Start of the DVC ingest stage (None = incremental)."
    )
    end: str | None = Field(None, description="End of the DVC ingest stage (None = now).")


class FeatureParams(BaseModel):
    """Feature-builder knobs (see ``edip_pipeline.features``)."""

    step: str = Field("1h", description="Step of the target grid of the feature table.")
    horizon_h: int = Field(48, description="Longest horizon for which features are built (hours).")
    origin_hour_local: int = Field(12, description="Day-ahead issue time, Europe/Paris hour.")
    lag_days: list[int] = Field(
        default_factory=lambda: [1, 2, 7, 14], description="Same-hour lags in days (before origin)."
    )
    rolling_windows_h: list[int] = Field(
        default_factory=lambda: [24, 168], description="Rolling windows ending at the origin."
    )
    temperature_smoothing_alphas: list[float] = Field(
        default_factory=lambda: [0.1, 0.05, 0.02, 0.01, 0.005],
        description="Exponential smoothing factors per hour (thermal inertia of buildings).",
    )
    heating_base_c: float = Field(15.0, description="Heating-degree base temperature, °C.")
    cooling_base_c: float = Field(20.0, description="Cooling-degree base temperature, °C.")
    window_h: int = Field(
        0,
        ge=0,
        description="Past-load window for sequence models: columns load_window_000.. (k steps "
        "before the last bucket known at the origin); 0 = none (tree models do not need it).",
    )
    shape_features: bool = Field(
        False,
        description="Short-lead shape columns load_shape_*/load_profile_1d/load_level_*/"
        "load_slope_* (edip_pipeline.features.load): the daily profile as ratios around the "
        "last known load, for the intraday re-issue model; off for the day-ahead models.",
    )
    recent_error_features: bool = Field(
        False,
        description="Latest-known-error columns load_error_{1d,7d}_{1,3}h (with shape_features; "
        "edip_pipeline.features.load): how wrong yesterday's / last week's profile was over "
        "the last 1 or 3 known hours, the intraday persistence of residuals as model inputs.",
    )
    weather_points: str = Field(
        default_factory=lambda: _default_points(),
        description="Weather points of the national weather features, recorded as "
        "'<preset or path>#<content hash>' (default: EDIP_WEATHER_POINTS); a model is served "
        "the points it was trained with, and a changed preset is refused.",
    )
    rte_forecast: Literal["none", "odre", "entsoe"] = Field(
        "none",
        description="RTE's D-1 forecast as feature 'rte_d1_mw' (the store's ODRÉ or ENTSO-E "
        "series, known at 10:00 Paris on D-1): only the 'combination_rte' model turns it on, "
        "with the source its backtest used; 'none' = no such column (every other model).",
    )
    start: str | None = Field(None, description="First target day of the DVC feature table.")
    end: str | None = Field(None, description="Last target day of the DVC feature table.")

    @field_validator("weather_points")
    @classmethod
    def _resolve_points(cls, value: str) -> str:
        return _points_ident(value)


def _points_ident(spec: str) -> str:
    """``rte35`` → ``rte35#<hash>`` (checked against the file when a hash is given)."""
    from edip_pipeline.weather_points import load_points

    return load_points(spec).ident


class Params(BaseModel):
    """Everything in ``params.yaml`` that the pipeline reads."""

    store: StoreParams = Field(default_factory=StoreParams, description="Store layout.")
    ingest: IngestParams = Field(default_factory=IngestParams, description="Ingestion.")
    features: FeatureParams = Field(default_factory=FeatureParams, description="Features.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def load_params(path: Path | None = None) -> Params:
    """Read ``params.yaml``; missing sections fall back to documented defaults."""
    path = path or get_settings().params_file
    raw: dict[str, Any] = {}
    if path.is_file():
        raw = yaml.safe_load(path.read_text()) or {}
    known = {k: v for k, v in raw.items() if k in Params.model_fields}
    return Params.model_validate(known)


def _default_points() -> str:
    """The weather points of ``EDIP_WEATHER_POINTS``, as recorded (``name#hash``)."""
    return _points_ident(get_settings().weather_points)


def reset_settings_cache() -> None:
    """Forget cached settings (tests change the environment)."""
    get_settings.cache_clear()
