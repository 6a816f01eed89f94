"""Request and response bodies of the API (the contract in the README), with OpenAPI examples."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_PREDICT_ROWS = 10_000
MAX_ACTUALS = 50_000
#: years an instant may name: far wider than any data, narrow enough that UTC conversions and
#: window arithmetic never overflow (datetime stops at 9999, pandas at 2262)
FIRST_YEAR, LAST_YEAR = 1900, 2199


def _supported(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"year {value.year} outside the supported {FIRST_YEAR}..{LAST_YEAR}")
    return value


#: an ISO 8601 time the API can compute with (422 otherwise, never a 500)
Instant = Annotated[datetime, AfterValidator(_supported)]


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
    "alias": "champion",
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
    loaded_at: datetime
    reason: str | None = Field(description="Why the fallback is served (null otherwise).")
    online_last_day: str | None = Field(
        None,
        description="Online models: the last Paris day (YYYY-MM-DD) their state absorbed (the "
        "daily update's state file); null for the state embedded at training or none.",
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
    feature_names: list[str]
    predictions: list[Quantiles]


class Actual(BaseModel):
    timestamp: Instant = Field(description="Start of the interval, with offset (UTC stored).")
    consumption_mw: float | None = Field(None, ge=0, le=1_000_000)
    rte_forecast_d1_mw: float | None = Field(None, ge=0, le=1_000_000)


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
    start: datetime
    end: datetime
    models: list[ModelScores]
    rte_d1: ErrorScores | None
    daily: list[DailyScores]


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


class DatasetStatus(BaseModel):
    dataset: str
    variable: str
    rows: int
    first: datetime | None
    last: datetime | None
    age_hours: float | None
    missing_steps: int
    data_version: str | None


class FlowRun(BaseModel):
    name: str
    state: str | None
    start_time: datetime | None
    end_time: datetime | None


class LoopRun(BaseModel):
    flow: str
    name: str
    state: str | None
    start_time: datetime | None
    expected_start_time: datetime | None


class DataStatus(BaseModel):
    datasets: list[DatasetStatus]
    flow_runs: list[FlowRun]
    prefect_reachable: bool


class FeatureRows(BaseModel):
    columns: list[str]
    items: list[dict[str, Any]] = Field(
        description="{'target_time': ISO UTC, '<column>': float | null, …} per row."
    )
