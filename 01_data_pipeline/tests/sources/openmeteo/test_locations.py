"""Open-Meteo cities and the population-weighted FR mean."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings
from edip_pipeline.sources.openmeteo.locations import CITIES
from edip_pipeline.store import Store

from .conftest import JAN15, body, make_source


def test_city_list_is_sane() -> None:
    assert 12 <= len(CITIES) <= 15
    assert len({c.slug for c in CITIES}) == len(CITIES)
    for c in CITIES:
        assert re.fullmatch(r"[a-z\-]+", c.slug)
        assert 42.0 < c.lat < 51.5
        assert -5.0 < c.lon < 8.5
        assert c.population > 300_000
    assert CITIES[0].slug == "paris"


def test_population_weighted_fr_mean_by_hand(
    om_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v1/archive").respond_with_data(
        body("archive_3cities_2024-01-15.json")
    )
    [batch] = make_source(om_settings).fetch("archive", JAN15, store)
    fr = batch.frame[batch.frame["area"] == "FR"].set_index(["variable", "timestamp"])["value"]
    p, ly, m = 13_025_000, 2_281_000, 1_874_000
    h = [pd.Timestamp(f"2024-01-15T0{i}:00Z") for i in range(3)]
    # all three cities
    assert fr["temperature_2m_c", h[0]] == pytest.approx(
        (p * 1.9 + ly * -0.8 + m * 7.4) / (p + ly + m)
    )
    # Lyon is null at 01:00: weights renormalised over Paris and Marseille
    assert fr["temperature_2m_c", h[1]] == pytest.approx((p * 1.6 + m * 7.0) / (p + m))
    # Paris is null at 02:00
    assert fr["wind_speed_10m_kmh", h[2]] == pytest.approx((ly * 6.5 + m * 23.5) / (ly + m))
    assert fr["shortwave_radiation_wm2", h[2]] == 0.0
    assert len(fr) == 6 * 3
