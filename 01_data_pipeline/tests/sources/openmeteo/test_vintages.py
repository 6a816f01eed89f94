"""A live forecast run stored as vintages next to the latest run."""

from __future__ import annotations

import pandas as pd
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings
from edip_pipeline.schema import Vintage, validate
from edip_pipeline.sources.base import Period
from edip_pipeline.sources.openmeteo.datasets import PREVIOUS_RUNS_VARIABLES
from edip_pipeline.store import Store

from .conftest import CITIES, HOURLY, body, make_source


def test_forecast_query_and_rows(
    om_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(
        "/v1/forecast",
        query_string={
            "latitude": "48.8566",
            "longitude": "2.3522",
            "hourly": HOURLY,
            "timezone": "GMT",
            "past_days": "1",
            "forecast_days": "3",
        },
    ).respond_with_data(body("forecast_paris.json"))
    src = make_source(om_settings, cities=CITIES[:1], now="2024-06-10T09:30Z")
    period = Period(pd.Timestamp("2024-06-09T06:00Z"), pd.Timestamp("2024-06-10T09:00Z"))
    batch, runs = src.fetch("forecast", period, store)
    assert batch.dataset == "weather_forecast"
    assert src.target_datasets("forecast") == ["weather_forecast", "weather_forecast_runs"]
    frame = validate(batch.frame)
    assert (frame["vintage"] == int(Vintage.FORECAST)).all()
    temp = frame[(frame["area"] == "paris") & (frame["variable"] == "temperature_2m_c")]
    # from period.start to the end of the run (96 h from 2024-06-09, the last 6 h null)
    assert temp["timestamp"].min() == pd.Timestamp("2024-06-09T06:00Z")
    assert temp["timestamp"].max() == pd.Timestamp("2024-06-12T17:00Z")
    assert len(temp) == 96 - 6 - 6
    assert temp["timestamp"].max() >= pd.Timestamp("2024-06-10T09:30Z") + pd.Timedelta("48h")
    # the same run as vintages, issued at the fetch time (2024-06-10T09:30Z)
    assert runs.dataset == "weather_forecast_runs"
    vint = validate(runs.frame)
    assert (vint["source"] == "openmeteo:forecast@2024-06-10T09:30Z").all()
    d1 = vint[(vint["area"] == "paris") & (vint["variable"] == "temperature_2m_c_previous_day1")]
    d2 = vint[(vint["area"] == "paris") & (vint["variable"] == "temperature_2m_c_previous_day2")]
    # lead 24-48 h: 2024-06-11T10:00Z .. 2024-06-12T09:00Z; lead >= 48 h: 10:00Z .. 17:00Z
    assert d1["timestamp"].min() == pd.Timestamp("2024-06-11T10:00Z")
    assert d1["timestamp"].max() == pd.Timestamp("2024-06-12T09:00Z")
    assert len(d1) == 24
    assert d2["timestamp"].min() == pd.Timestamp("2024-06-12T10:00Z")
    assert len(d2) == 8
    same = temp.set_index("timestamp")["value"]
    assert (d1.set_index("timestamp")["value"] == same.reindex(d1["timestamp"])).all()
    assert set(vint["variable"]) <= {v for v, _ in PREVIOUS_RUNS_VARIABLES.values()}
