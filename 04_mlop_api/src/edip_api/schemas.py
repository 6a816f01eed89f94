"""Request and response bodies of the API (the contract in the README), with OpenAPI examples."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from edip_api.schemas_peak import DailyPeak
from edip_pipeline.registry_names import CHAMPION

MAX_PREDICT_ROWS = 10_000
MAX_ACTUALS = 50_000
#: the largest load a body may carry, MW (France peaks near 100 GW)
MAX_LOAD_MW = 1_000_000
#: years an instant may name: far wider than any data, narrow enough that UTC conversions and
#: window arithmetic never overflow (datetime stops at 9999, pandas at 2262)
FIRST_YEAR, LAST_YEAR = 1900, 2199
#: a calendar day, ASCII digits only (``\d`` also matches "２０２０", which broke "one issuance
#: per target day": the same day under two spellings)
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_ISO_START = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_8601(value: object) -> object:
    """Only ISO 8601 text (or a datetime built in code): pydantic would also read ``0.5`` or
    ``1608462000`` as Unix times, which no caller of a day-ahead API means."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_START.match(value)):
        return value
    raise ValueError("expected an ISO 8601 time such as 2020-12-20T12:00:00+01:00")


def _supported(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"year {value.year} outside the supported {FIRST_YEAR}..{LAST_YEAR}")
    return value


#: an ISO 8601 time the API can compute with (422 otherwise, never a 500)
Instant = Annotated[datetime, BeforeValidator(_iso_8601), AfterValidator(_supported)]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


#: text that every log store can keep (PostgreSQL refuses NUL characters in text)
Text = Annotated[str, AfterValidator(_no_nul)]


def real_day(value: str) -> str:
    """A real day in the supported years ("2020-13-45", "0000-00-00" match the pattern: 422)."""
    _supported(datetime.strptime(value, "%Y-%m-%d"))  # ValueError → 422
    return value


Day = Annotated[str, AfterValidator(real_day)]


#: the two served variants of the combination (``edip_pipeline.contract``)
Variant = Literal["with_rte", "without_rte"]


class ValidationIssue(BaseModel):
    """One problem found in the request (FastAPI's validation error, trimmed)."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a message, or the list of validation issues (422)."""

    detail: str | list[ValidationIssue]
    request_id: str | None = None


_MODEL_EXAMPLE: dict[str, Any] = {
    "name": "lightgbm",
    "version": "3",
    "source": "registry",
    "family": "lightgbm",
    "alias": CHAMPION,
    "loaded_at": "2020-12-20T11:00:00+00:00",
    "reason": None,
}


class ModelInfo(BaseModel):
    """The model answering: a registry version, or the documented fallback and why."""

    model_config = ConfigDict(json_schema_extra={"examples": [dict(_MODEL_EXAMPLE)]})

    name: str = Field(description="Model family (lightgbm, lstm, …) or same_hour_last_week.")
    version: str | None = Field(description="Registry version; null for the fallback.")
    source: Literal["registry", "fallback"]
    family: str | None = Field(description="Model family tag recorded at training.")
    alias: str = Field(description="Registry alias served.")
    registered_model: str | None = Field(
        None, description="Registered model served (edip-load-fr; edip-load-fr-intraday for the "
        "intraday re-issues); null for the fallback.",
    )  # fmt: skip
    loaded_at: datetime
    reason: str | None = Field(
        description="Why the fallback is served, or why another model answers (an intraday "
        "forecast from the day-ahead champion: no intraday model registered); null otherwise."
    )
    online_last_day: str | None = Field(
        None,
        description="Online models: the Paris day (YYYY-MM-DD) of the last hour their state "
        "absorbed (the update's state); null for the state embedded at training or none.",
    )


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class StoreState(BaseModel):
    readable: bool
    last_timestamp: datetime | None
    data_version: str | None
    damage: list[str] = Field(
        default_factory=list,
        description="Open damage reports of the store (damaged files quarantined, what is served "
        "instead, how to repair: `edip data repair`); empty when every file verifies.",
    )


class LogStoreState(BaseModel):
    ok: bool
    queue_depth: int


class Ready(BaseModel):
    ready: bool
    warm: bool = Field(
        description="The start-up forecasts of the next issuance are built (ready waits for it)."
    )
    model: ModelInfo
    store: StoreState
    log_store: LogStoreState


class DataFreshness(BaseModel):
    last_timestamp: datetime | None = Field(description="Last measured national load (UTC).")
    age_hours: float | None = Field(description="Hours between that and now.")
    data_version: str | None


class ForecastPoint(BaseModel):
    target_time: datetime = Field(description="Start of the hour forecast (UTC).")
    target_time_paris: datetime
    horizon_h: float = Field(description="Hours from the origin to the target.")
    p10: float | None
    p50: float
    p90: float | None


class Forecast(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "5d2c8a1f0b6e4c3a9e7f1a2b3c4d5e6f",
                    "model": _MODEL_EXAMPLE,
                    "origin": "2020-12-19T11:00:00+00:00",
                    "horizon_h": 1,
                    "weather_source": "none",
                    "data": {
                        "last_timestamp": "2020-12-31T22:30:00+00:00",
                        "age_hours": 0.5,
                        "data_version": "9f2c4e1a7b3d5c60",
                    },
                    "points": [
                        {
                            "target_time": "2020-12-19T11:00:00+00:00",
                            "target_time_paris": "2020-12-19T12:00:00+01:00",
                            "horizon_h": 0.0,
                            "p10": 61200.0,
                            "p50": 63150.5,
                            "p90": 65010.0,
                        }
                    ],
                }
            ]
        }
    )

    request_id: str
    model: ModelInfo
    origin: datetime
    horizon_h: int
    weather_source: str
    weather_note: str | None = Field(
        None,
        description="Set when the weather served differs from the weather the model was trained "
        "with (e.g. trained on observed temperatures, served with none): the forecast is still "
        "the model's, but its error may differ from the backtest's.",
    )
    logged: bool = Field(
        True, description="Written to the prediction log under request_id (EDIP_ANONYMOUS_LOGGING)."
    )
    variant: Variant = Field(
        "without_rte",
        description="Which combination this forecast is: 'with_rte' (RTE's D-1 forecast, known at "
        "10:00 Paris on D-1, is one of the experts) or 'without_rte' (EDIP's experts alone: every "
        "other model, or combination_rte when RTE's forecast is missing for a target).",
    )
    variant_note: str | None = Field(
        None,
        description="Set when a model that takes RTE's forecast served without it (the fallback "
        "of combination_rte): the whole forecast is the no-RTE combination, never a mix.",
    )
    data: DataFreshness
    points: list[ForecastPoint]


class PredictRequest(BaseModel):
    """Raw feature rows, each with exactly the served model's feature names."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"rows": [{"horizon_h": 24.0, "hour": 12.0, "load_lag_1d": 63000.0}]}]
        }
    )

    rows: list[dict[str, float | None]] = Field(min_length=1, max_length=MAX_PREDICT_ROWS)


class Quantiles(BaseModel):
    p10: float | None
    p50: float | None
    p90: float | None


class PredictResponse(BaseModel):
    request_id: str
    model: ModelInfo
    variant: Variant = Field(
        "without_rte",
        description="'with_rte' when the model takes RTE's D-1 forecast (rte_d1_mw) and every row "
        "has it; else 'without_rte' (all rows served by the no-RTE combination).",
    )
    logged: bool = Field(
        True, description="Written to the prediction log under request_id (EDIP_ANONYMOUS_LOGGING)."
    )
    feature_names: list[str]
    predictions: list[Quantiles] = Field(
        description="One per row; null where the model gives no finite value."
    )


class Actual(BaseModel):
    timestamp: Instant = Field(description="Start of the interval, with offset (UTC stored).")
    consumption_mw: float | None = Field(None, ge=0, le=MAX_LOAD_MW)
    rte_forecast_d1_mw: float | None = Field(None, ge=0, le=MAX_LOAD_MW)


class ActualsRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "actuals": [
                        {
                            "timestamp": "2020-12-10T00:00:00+01:00",
                            "consumption_mw": 65321.5,
                            "rte_forecast_d1_mw": 64900.0,
                        }
                    ]
                }
            ]
        }
    )

    actuals: list[Actual] = Field(min_length=1, max_length=MAX_ACTUALS)


class Upserted(BaseModel):
    upserted: int


class PredictionItem(BaseModel):
    request_id: str
    model_name: str
    model_version: str
    origin: datetime
    target_time: datetime
    horizon_h: float
    p10: float | None
    p50: float
    p90: float | None
    latency_ms: float
    created_at: datetime
    variant: Variant | None = Field(
        None, description="with_rte / without_rte; null for points logged before it was recorded."
    )


class Page(BaseModel):
    total: int
    limit: int
    offset: int
    next_offset: int | None


class PredictionsPage(Page):
    items: list[PredictionItem]


class ActualItem(BaseModel):
    timestamp: datetime
    consumption_mw: float | None
    rte_forecast_d1_mw: float | None


class ActualsPage(Page):
    items: list[ActualItem]


class ErrorScores(BaseModel):
    n: int
    mape: float | None = Field(description="Mean absolute percentage error, a fraction.")
    mae: float | None = Field(description="Mean absolute error, MW.")
    bias: float | None = Field(description="Mean(forecast − actual), MW.")


class ModelScores(ErrorScores):
    model_name: str
    model_version: str


class DailyScores(ModelScores):
    date: str


class MetricsSummaryOut(BaseModel):
    window: str
    actual: str = Field(
        description="The actual every score here (the models' and rte_d1's) is computed against: "
        "ODRÉ's consumption, the models' label. ENTSO-E's actual load is ~600 MW lower (another "
        "perimeter): a score against it is not comparable."
    )
    start: datetime
    end: datetime
    models: list[ModelScores]
    rte_d1: ErrorScores | None
    daily: list[DailyScores]
    peaks: list[DailyPeak] = Field(
        default_factory=list,
        description="Per Paris day of the window, the day-ahead issue's peak, scored once measured.",
    )


class TrainedOn(BaseModel):
    start: str | None
    end: str | None


class ModelDetail(ModelInfo):
    registered_model: str
    run_id: str | None
    feature_names: list[str]
    feature_params: dict[str, Any] | None
    backtest_metrics: dict[str, float]
    data_version: str | None
    trained_on: TrainedOn
    tags: dict[str, str]


class ModelVersionItem(BaseModel):
    version: str
    aliases: list[str]
    created_at: datetime | None
    family: str | None
    backtest_mape: float | None
    data_version: str | None
    run_id: str | None


class ModelVersions(BaseModel):
    versions: list[ModelVersionItem]
