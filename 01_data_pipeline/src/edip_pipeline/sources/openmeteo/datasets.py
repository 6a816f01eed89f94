"""Open-Meteo datasets: endpoint, store target and vintage of each, the hourly variables
asked, and the previous-runs leads (see the package docstring for what a lead means)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from edip_pipeline.schema import Vintage

ATTRIBUTION = "Weather data by Open-Meteo.com (CC BY 4.0)"

#: Open-Meteo hourly variable -> (canonical variable, unit the server must echo in hourly_units)
VARIABLES: dict[str, tuple[str, str]] = {
    "temperature_2m": ("temperature_2m_c", "°C"),
    "apparent_temperature": ("apparent_temperature_c", "°C"),
    "relative_humidity_2m": ("relative_humidity_2m_pct", "%"),
    "cloud_cover": ("cloud_cover_pct", "%"),
    "wind_speed_10m": ("wind_speed_10m_kmh", "km/h"),
    "shortwave_radiation": ("shortwave_radiation_wm2", "W/m²"),
}

#: leads fetched from previous-runs (``_previous_day1``, ``_previous_day2``), see the package docstring
PREVIOUS_RUNS_LEADS: tuple[int, ...] = (1, 2)
#: previous-runs hourly variable -> (canonical variable with the lead suffix, unit)
PREVIOUS_RUNS_VARIABLES: dict[str, tuple[str, str]] = {
    f"{api}_previous_day{n}": (f"{canonical}_previous_day{n}", unit)
    for n in PREVIOUS_RUNS_LEADS
    for api, (canonical, unit) in VARIABLES.items()
}

FORECAST_DAYS = 3  # today + 2 days (GMT): always covers the next 48 h
MAX_PAST_DAYS = 92  # forecast API limit for past_days


@dataclass(frozen=True)
class DatasetSpec:
    store_dataset: str
    url_setting: str
    vintage: Vintage
    chunked: bool  # start_date/end_date by calendar year (else past_days/forecast_days)
    variables: Mapping[str, tuple[str, str]] = field(default_factory=lambda: VARIABLES)


DATASETS: dict[str, DatasetSpec] = {
    "archive": DatasetSpec("weather_observed", "openmeteo_archive_url", Vintage.DEFINITIVE, True),
    "forecast": DatasetSpec("weather_forecast", "openmeteo_forecast_url", Vintage.FORECAST, False),
    "historical-forecast": DatasetSpec(
        "weather_historical_forecast",
        "openmeteo_historical_forecast_url",
        Vintage.FORECAST,
        True,
    ),
    "previous-runs": DatasetSpec(
        "weather_previous_runs",
        "openmeteo_previous_runs_url",
        Vintage.FORECAST,
        True,
        PREVIOUS_RUNS_VARIABLES,
    ),
}


FORECAST_RUNS_DATASET = "weather_forecast_runs"
