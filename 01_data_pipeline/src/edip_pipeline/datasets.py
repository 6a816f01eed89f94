"""The canonical datasets the store holds: name, regular step, what they contain."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetSpec:
    """A canonical dataset: its regular step and what it holds."""

    name: str
    step: str
    description: str
    interpolate: bool = True


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec(
            "load_national",
            "30min",
            "National consumption (MW) and RTE's D-1 / D forecasts; éCO2mix TR, cons-def, "
            "consommation-quotidienne-brute, RTE API and the bundled sample.",
        ),
        DatasetSpec(
            "load_entsoe",
            "1h",
            "ENTSO-E total load for RTE's zone (MW, hourly means): RTE's day-ahead forecast "
            "entsoe_forecast_d1_mw and the actual entsoe_actual_mw (ENTSO-E's perimeter).",
            interpolate=False,
        ),
        DatasetSpec(
            "load_regional", "30min", "Regional consumption (MW), area = INSEE region code."
        ),
        DatasetSpec(
            "load_enedis",
            "30min",
            "Enedis aggregated consumption (MW) by region, variable = segment:profile:power range.",
            interpolate=False,
        ),
        DatasetSpec(
            "weather_observed",
            "1h",
            "Open-Meteo archive weather per city and population-weighted FR.",
        ),
        DatasetSpec("weather_forecast", "1h", "Open-Meteo forecast (next 48 h), latest run wins."),
        DatasetSpec(
            "weather_historical_forecast",
            "1h",
            "Open-Meteo historical-forecast: weather as it was forecast (leak-free backtests).",
        ),
        DatasetSpec(
            "weather_previous_runs",
            "1h",
            "Open-Meteo previous-runs: forecast vintages, variables suffixed _previous_dayN "
            "(the value predicted N x 24 h before valid time).",
        ),
        DatasetSpec(
            "weather_forecast_runs",
            "1h",
            "Live Open-Meteo forecast runs as vintages (_previous_dayN: known N x 24 h before "
            "valid time; source records the issue time). Latest run per lead wins.",
        ),
        DatasetSpec(
            "temperature_daily",
            "1D",
            "ODRE daily regional temperatures (°C) and the population-weighted FR mean.",
        ),
    ]
}
