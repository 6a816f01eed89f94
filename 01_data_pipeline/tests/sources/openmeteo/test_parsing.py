"""Open-Meteo payloads: single objects, GMT only, wrong shapes, coverage notes."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings
from edip_pipeline.http import SourceError
from edip_pipeline.sources.base import Period
from edip_pipeline.store import Store

from .conftest import CITIES, HOURLY, JAN15, body, make_source, single_body


@pytest.mark.parametrize("day", ["2024-03-31", "2024-10-27"])
def test_single_location_object_on_clock_change_days(
    om_settings: Settings, store: Store, httpserver: HTTPServer, day: str
) -> None:
    fixture = body(f"archive_paris_{day}.json")
    assert fixture.startswith(b"{")  # a single location is an object, not an array
    httpserver.expect_request(
        "/v1/archive",
        query_string={
            "latitude": "48.8566",
            "longitude": "2.3522",
            "hourly": HOURLY,
            "timezone": "GMT",
            "start_date": day,
            "end_date": day,
        },
    ).respond_with_data(fixture)
    start = pd.Timestamp(f"{day}T00:00Z")
    src = make_source(om_settings, cities=CITIES[:1])
    [batch] = src.fetch("archive", Period(start, start + pd.Timedelta("1D")), store)
    payload = json.loads(fixture)
    expected = pd.date_range(start, periods=24, freq="h", tz="UTC")
    for area in ("paris", "FR"):
        temp = batch.frame[
            (batch.frame["area"] == area) & (batch.frame["variable"] == "temperature_2m_c")
        ]
        # GMT: 24 hourly rows on every UTC day, DST or not, no duplicate and no hole
        assert list(temp["timestamp"]) == list(expected)
        assert temp["value"].tolist() == payload["hourly"]["temperature_2m"]


def test_non_gmt_offset_is_refused(
    om_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v1/archive").respond_with_data(body("offset_not_gmt.json"))
    with pytest.raises(SourceError, match="utc_offset_seconds is 3600"):
        make_source(om_settings, cities=CITIES[:1]).fetch("archive", JAN15, store)


@pytest.mark.parametrize(
    ("payload", "n_cities", "message"),
    [
        ({"utc_offset_seconds": 0, "results": []}, 1, "'hourly' section missing"),
        ([{"utc_offset_seconds": 0}], 3, "expected 3 locations, got 1"),
        ("a string", 3, "expected a JSON object or array"),
    ],
)
def test_wrong_shape(
    om_settings: Settings,
    store: Store,
    httpserver: HTTPServer,
    payload: object,
    n_cities: int,
    message: str,
) -> None:
    httpserver.expect_request("/v1/archive").respond_with_json(payload)
    src = make_source(om_settings, cities=CITIES[:n_cities])
    with pytest.raises(SourceError, match=re.escape(message)) as err:
        src.fetch("archive", JAN15, store)
    assert err.value.dataset == "archive"
    assert "/v1/archive" in err.value.url


def test_coverage_per_city_and_variable_warns_on_all_null_cities(
    om_settings: Settings, store: Store, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    times = ["2024-01-15T00:00", "2024-01-15T01:00", "2024-01-15T02:00"]
    paris = json.loads(single_body(times, 5.0))
    lyon = {**json.loads(single_body(times, None)), "location_id": 1}
    lyon["hourly"]["temperature_2m"] = [1.0, None, None]  # one hour of three
    body_ = json.dumps([paris, lyon], separators=(",", ":"))
    httpserver.expect_request("/v1/archive").respond_with_data(body_)
    [batch] = make_source(om_settings, cities=CITIES[:2]).fetch("archive", JAN15, store)
    notes = "\n".join(batch.notes)
    assert "temperature_2m_c: low coverage at lyon 33%" in notes
    assert "temperature_2m_c: mean point coverage 66.7%" in notes
    assert "cloud_cover_pct: no value at 1 point(s): lyon" in notes
    assert "open-meteo: wind_speed_10m_kmh all-null at lyon" in caplog.text


def test_weighted_fr_mean_by_hand_and_the_notes_say_so(
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
    # Paris is null at 02:00: Lyon and Marseille hold 24 % of the weight, under half: no FR value
    assert ("wind_speed_10m_kmh", h[2]) not in fr.index
    assert fr["shortwave_radiation_wm2", h[2]] == 0.0
    assert len(fr) == 6 * 3 - 1
    share = (p + m) / (p + ly + m)
    assert (
        f"temperature_2m_c: 1 of 3 FR hours re-weighted over the points present "
        f"(lowest weight share {share:.0%})" in batch.notes
    )
    assert (
        "wind_speed_10m_kmh: 1 of 3 FR hours left out (points holding under 50% of the weight)"
        in batch.notes
    )
    assert "weather points test#00000000 (3 points)" in batch.notes
