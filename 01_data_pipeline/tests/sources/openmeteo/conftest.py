"""Shared Open-Meteo test helpers: a source on the local HTTP server, hand-written bodies."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings, get_settings, reset_settings_cache
from edip_pipeline.sources.base import Period
from edip_pipeline.sources.openmeteo.datasets import VARIABLES
from edip_pipeline.sources.openmeteo.ratelimit import WeightedRateLimiter
from edip_pipeline.sources.openmeteo.source import OpenMeteoSource
from edip_pipeline.weather_points import PointSet, WeatherPoint, load_points

from ...conftest import FIXTURES

FIX = FIXTURES / "openmeteo"
HOURLY = (
    "temperature_2m,apparent_temperature,relative_humidity_2m,cloud_cover,"
    "wind_speed_10m,shortwave_radiation"
)
CITIES = load_points("cities15").points
THREE = CITIES[:3]  # paris, lyon, marseille


@pytest.fixture
def om_settings(
    settings: Settings, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("EDIP_OPENMETEO_ARCHIVE_URL", httpserver.url_for("/v1/archive"))
    monkeypatch.setenv("EDIP_OPENMETEO_FORECAST_URL", httpserver.url_for("/v1/forecast"))
    monkeypatch.setenv(
        "EDIP_OPENMETEO_HISTORICAL_FORECAST_URL", httpserver.url_for("/hf/v1/forecast")
    )
    monkeypatch.setenv("EDIP_OPENMETEO_PREVIOUS_RUNS_URL", httpserver.url_for("/pr/v1/forecast"))
    reset_settings_cache()
    return get_settings()


def make_source(
    settings: Settings, cities: tuple[WeatherPoint, ...] = THREE, now: str = "2025-01-10T12:00Z"
) -> OpenMeteoSource:
    limiter = WeightedRateLimiter(sleep=lambda s: None)
    return OpenMeteoSource(
        settings,
        points=PointSet("test", cities, "0" * 8),
        limiter=limiter,
        clock=lambda: pd.Timestamp(now),
    )


def body(name: str) -> bytes:
    return (FIX / name).read_bytes()


def query(httpserver: HTTPServer, i: int = 0) -> dict[str, str]:
    return dict(httpserver.log[i][0].args.items())


def single_body(times: list[str], value: float | None = 5.0) -> str:
    """A one-location GMT body in the server's key order (for chunking tests)."""
    units = {"time": "iso8601", **{k: u for k, (_, u) in VARIABLES.items()}}
    hourly: dict[str, list[object]] = {"time": list(times)}
    hourly.update({k: [value] * len(times) for k in VARIABLES})
    obj = {
        "latitude": 48.86,
        "longitude": 2.3599997,
        "generationtime_ms": 0.4,
        "utc_offset_seconds": 0,
        "timezone": "GMT",
        "timezone_abbreviation": "GMT",
        "elevation": 43.0,
        "hourly_units": units,
        "hourly": hourly,
    }
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


JAN15 = Period(pd.Timestamp("2024-01-15T00:00Z"), pd.Timestamp("2024-01-15T03:00Z"))
