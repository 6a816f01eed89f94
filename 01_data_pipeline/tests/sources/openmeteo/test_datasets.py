"""Open-Meteo previous-runs dataset: both leads, endpoint, default URL."""

from __future__ import annotations

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings
from edip_pipeline.schema import Flag, Vintage, validate
from edip_pipeline.sources.base import Period
from edip_pipeline.sources.openmeteo.datasets import PREVIOUS_RUNS_VARIABLES
from edip_pipeline.store import Store

from .conftest import CITIES, HOURLY, body, make_source


def test_previous_runs_endpoint_query_rows_and_store(
    om_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    """Forecast vintages: both leads asked (suffix _previous_day1/2), GMT, stored with the lead."""
    hourly = ",".join(f"{v}_previous_day{n}" for n in (1, 2) for v in HOURLY.split(","))
    httpserver.expect_request(
        "/pr/v1/forecast",
        query_string={
            "latitude": "48.8566,45.764",
            "longitude": "2.3522,4.8357",
            "hourly": hourly,
            "timezone": "GMT",
            "start_date": "2024-02-10",
            "end_date": "2024-02-10",
        },
    ).respond_with_data(
        body("previous_runs_2cities_2024-02-10.json"), content_type="application/json"
    )
    period = Period(pd.Timestamp("2024-02-10T00:00Z"), pd.Timestamp("2024-02-10T03:00Z"))
    [batch] = make_source(om_settings, cities=CITIES[:2]).fetch("previous-runs", period, store)
    assert batch.dataset == "weather_previous_runs"
    frame = validate(batch.frame)
    assert set(frame["variable"]) == {v for v, _ in PREVIOUS_RUNS_VARIABLES.values()}
    assert "temperature_2m_c_previous_day1" in set(frame["variable"])
    assert (frame["vintage"] == int(Vintage.FORECAST)).all()
    assert (frame["source"] == "openmeteo:previous-runs").all()
    fr = frame[frame["area"] == "FR"].set_index(["variable", "timestamp"])["value"]
    p, ly = 13_025_000, 2_281_000
    h0, h2 = pd.Timestamp("2024-02-10T00:00Z"), pd.Timestamp("2024-02-10T02:00Z")
    assert fr["temperature_2m_c_previous_day1", h0] == pytest.approx(
        (p * 6.1 + ly * 2.1) / (p + ly)
    )
    assert fr["temperature_2m_c_previous_day2", h0] == pytest.approx(
        (p * 6.6 + ly * 2.9) / (p + ly)
    )
    # Lyon's day-1 run is null at 02:00: the FR mean is Paris alone for that lead only
    assert fr["temperature_2m_c_previous_day1", h2] == pytest.approx(5.5)
    assert fr["temperature_2m_c_previous_day2", h2] == pytest.approx(
        (p * 5.9 + ly * 2.0) / (p + ly)
    )
    assert any("previous_day1" in n for n in batch.notes)
    # the plausible ranges apply to the vintages too: a cloud cover of 101 % is flagged
    store.write(batch.dataset, batch.frame)
    cc = store.read("weather_previous_runs", variables=["cloud_cover_pct_previous_day2"])
    bad = cc[(cc["area"] == "paris") & (cc["timestamp"] == pd.Timestamp("2024-02-10T01:00Z"))]
    # dropped, then filled like any short gap (85 → 99: 92)
    assert len(bad) == 1
    assert bad["value"].iloc[0] == pytest.approx(92.0)
    assert int(bad["flags"].iloc[0]) & int(Flag.IMPLAUSIBLE)


def test_previous_runs_default_url() -> None:
    assert Settings().openmeteo_previous_runs_url == (
        "https://previous-runs-api.open-meteo.com/v1/forecast"
    )
