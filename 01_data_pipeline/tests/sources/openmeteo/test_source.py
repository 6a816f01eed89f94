"""Open-Meteo connector against a real local HTTP server: queries, chunks, HTTP failures,
the store round trip."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings
from edip_pipeline.http import SourceError
from edip_pipeline.schema import Vintage, validate
from edip_pipeline.sources.base import Period, Source
from edip_pipeline.sources.openmeteo.datasets import VARIABLES
from edip_pipeline.store import Store

from .conftest import CITIES, FIX, HOURLY, JAN15, body, make_source, query, single_body


def test_protocol_and_metadata(om_settings: Settings) -> None:
    src: Source = make_source(om_settings)
    assert src.name == "openmeteo"
    assert src.datasets == ("archive", "forecast", "historical-forecast", "previous-runs")
    assert set(src.revision_family.values()) == {"weather"}
    assert src.target_datasets("archive") == ["weather_observed"]
    assert src.target_datasets("forecast") == ["weather_forecast", "weather_forecast_runs"]
    assert src.target_datasets("historical-forecast") == ["weather_historical_forecast"]
    assert src.target_datasets("previous-runs") == ["weather_previous_runs"]
    with pytest.raises(SourceError, match="unknown dataset"):
        src.target_datasets("nope")


def test_multi_location_array_with_exact_query(
    om_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(
        "/v1/archive",
        query_string={
            "latitude": "48.8566,45.764,43.2965",
            "longitude": "2.3522,4.8357,5.3698",
            "hourly": HOURLY,
            "timezone": "GMT",
            "start_date": "2024-01-15",
            "end_date": "2024-01-15",
        },
    ).respond_with_data(body("archive_3cities_2024-01-15.json"), content_type="application/json")
    [batch] = make_source(om_settings).fetch("archive", JAN15, store)
    assert batch.dataset == "weather_observed"
    frame = validate(batch.frame)
    assert set(frame["area"]) == {"paris", "lyon", "marseille", "FR"}
    assert set(frame["variable"]) == {v for v, _ in VARIABLES.values()}
    assert (frame["vintage"] == int(Vintage.DEFINITIVE)).all()
    assert (frame["source"] == "openmeteo:archive").all()
    assert frame["timestamp"].dtype == "datetime64[ns, UTC]"

    def val(area: str, var: str, hour: int) -> float:
        ts = pd.Timestamp(f"2024-01-15T{hour:02d}:00Z")
        sel = frame[
            (frame["area"] == area) & (frame["variable"] == var) & (frame["timestamp"] == ts)
        ]
        return float(sel["value"].iloc[0]) if len(sel) else math.nan

    # location_id 1 is Lyon, 2 is Marseille; nulls give no row
    assert val("lyon", "temperature_2m_c", 0) == -0.8
    assert math.isnan(val("lyon", "temperature_2m_c", 1))
    assert val("marseille", "wind_speed_10m_kmh", 2) == 23.5
    assert math.isnan(val("paris", "wind_speed_10m_kmh", 2))
    assert val("paris", "relative_humidity_2m_pct", 2) == 90.0
    assert frame["value"].notna().all()
    raws = list((om_settings.data_dir / "raw" / "openmeteo" / "archive").glob("*.json"))
    assert len(raws) == 1
    assert raws[0].read_bytes() == body("archive_3cities_2024-01-15.json")


def test_default_city_list_query_and_400_reason(
    om_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v1/archive").respond_with_data(
        body("error_400.json"), status=400, content_type="application/json"
    )
    src = make_source(om_settings, cities=CITIES)
    with pytest.raises(SourceError) as err:
        src.fetch("archive", Period.parse("2024-01-15", "2024-01-16"), store)
    assert err.value.dataset == "archive"
    assert "/v1/archive" in err.value.url
    assert "Parameter 'start_date' is out of allowed range" in err.value.reason
    assert len(httpserver.log) == 1  # a 400 is not retried
    q = query(httpserver)
    assert q["latitude"] == ",".join(str(c.lat) for c in CITIES)
    assert q["longitude"] == ",".join(str(c.lon) for c in CITIES)
    assert len(q["latitude"].split(",")) == len(CITIES)
    assert (q["start_date"], q["end_date"]) == ("2024-01-14", "2024-01-15")  # a Paris day in UTC


def test_429_with_retry_after_then_success(
    om_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request("/v1/archive").respond_with_json(
        {
            "error": True,
            "reason": "Minutely API request limit exceeded. Please try again in one minute.",
        },
        status=429,
        headers={"Retry-After": "1"},
    )
    httpserver.expect_oneshot_request("/v1/archive").respond_with_data(
        body("archive_3cities_2024-01-15.json")
    )
    [batch] = make_source(om_settings).fetch("archive", JAN15, store)
    assert len(httpserver.log) == 2
    assert [r.status_code for _, r in httpserver.log] == [429, 200]
    assert query(httpserver, 0) == query(httpserver, 1)
    assert not batch.frame.empty


def test_500_then_success(om_settings: Settings, store: Store, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/v1/archive").respond_with_data("oops", status=500)
    httpserver.expect_oneshot_request("/v1/archive").respond_with_data(
        body("archive_3cities_2024-01-15.json")
    )
    [batch] = make_source(om_settings).fetch("archive", JAN15, store)
    assert [r.status_code for _, r in httpserver.log] == [500, 200]
    assert len(batch.frame) > 0


@pytest.mark.parametrize(
    "payload",
    [
        b"<html><body>502 Bad Gateway</body></html>",
        (FIX / "archive_3cities_2024-01-15.json").read_bytes()[:700],  # truncated
    ],
    ids=["malformed", "truncated"],
)
def test_malformed_and_truncated_json(
    om_settings: Settings, store: Store, httpserver: HTTPServer, payload: bytes
) -> None:
    httpserver.expect_request("/v1/archive").respond_with_data(payload)
    with pytest.raises(SourceError, match=r"malformed or truncated JSON") as err:
        make_source(om_settings).fetch("archive", JAN15, store)
    assert "[archive]" in str(err.value)
    assert "/v1/archive?latitude=" in str(err.value)
    # the body was kept in the raw layer before parsing
    assert len(list((om_settings.data_dir / "raw" / "openmeteo" / "archive").iterdir())) == 1


def test_streaming_error_in_a_200_body(
    om_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v1/archive").respond_with_data(body("archive_stream_error.txt"))
    with pytest.raises(SourceError, match="Unexpected error while streaming data") as err:
        make_source(om_settings).fetch("archive", JAN15, store)
    assert err.value.dataset == "archive"
    assert "/v1/archive" in err.value.url


def test_empty_period(om_settings: Settings, store: Store, httpserver: HTTPServer) -> None:
    src = make_source(om_settings, now="2024-08-20T12:00Z")
    # entirely after "today": the archive has nothing, no call is made
    future = Period(pd.Timestamp("2024-09-01T00:00Z"), pd.Timestamp("2024-09-02T00:00Z"))
    [batch] = src.fetch("archive", future, store)
    assert batch.dataset == "weather_observed"
    assert batch.frame.empty
    assert httpserver.log == []
    # the server answers, but with no hour at all
    httpserver.expect_request("/v1/archive").respond_with_data(single_body([]))
    one = make_source(om_settings, cities=CITIES[:1])
    [batch] = one.fetch("archive", JAN15, store)
    assert batch.frame.empty
    assert not store.write(batch.dataset, batch.frame).changed


def test_archive_is_chunked_by_year_and_clamped_to_today(
    om_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    days = pd.date_range("2023-12-31", "2024-01-02", freq="h", inclusive="left")
    times = [t.strftime("%Y-%m-%dT%H:%M") for t in days]
    httpserver.expect_request(
        "/v1/archive",
        query_string={
            "start_date": "2023-12-31",
            "end_date": "2023-12-31",
            "latitude": "48.8566",
            "longitude": "2.3522",
            "hourly": HOURLY,
            "timezone": "GMT",
        },
    ).respond_with_data(single_body(times[:24]))
    httpserver.expect_request(
        "/v1/archive",
        query_string={
            "start_date": "2024-01-01",
            "end_date": "2024-01-02",
            "latitude": "48.8566",
            "longitude": "2.3522",
            "hourly": HOURLY,
            "timezone": "GMT",
        },
    ).respond_with_data(single_body(times[24:]))
    src = make_source(om_settings, cities=CITIES[:1], now="2024-01-02T10:00Z")
    period = Period(pd.Timestamp("2023-12-31T00:00Z"), pd.Timestamp("2024-01-05T00:00Z"))
    reqs = src.requests("archive", period)
    assert [(p["start_date"], p["end_date"]) for p, _ in reqs] == [
        ("2023-12-31", "2023-12-31"),
        ("2024-01-01", "2024-01-02"),
    ]
    assert [w for _, w in reqs] == [1.0, 1.0]
    [batch] = src.fetch("archive", period, store)
    assert len(httpserver.log) == 2
    paris = batch.frame[
        (batch.frame["area"] == "paris") & (batch.frame["variable"] == "cloud_cover_pct")
    ]
    assert len(paris) == 48


def test_historical_forecast_endpoint(
    om_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(
        "/hf/v1/forecast",
        query_string={
            "start_date": "2024-03-31",
            "end_date": "2024-03-31",
            "latitude": "48.8566",
            "longitude": "2.3522",
            "hourly": HOURLY,
            "timezone": "GMT",
        },
    ).respond_with_data(body("archive_paris_2024-03-31.json"))
    period = Period(pd.Timestamp("2024-03-31T00:00Z"), pd.Timestamp("2024-04-01T00:00Z"))
    [batch] = make_source(om_settings, cities=CITIES[:1]).fetch(
        "historical-forecast", period, store
    )
    assert batch.dataset == "weather_historical_forecast"
    assert (batch.frame["vintage"] == int(Vintage.FORECAST)).all()
    assert (batch.frame["source"] == "openmeteo:historical-forecast").all()
    assert len(batch.frame) == 24 * 6 * 2


def test_store_round_trip(om_settings: Settings, store: Store, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/archive").respond_with_data(
        body("archive_3cities_2024-01-15.json")
    )
    [batch] = make_source(om_settings).fetch("archive", JAN15, store)
    result = store.write(batch.dataset, batch.frame)
    assert result.changed
    back = store.read("weather_observed")
    measured = back[back["flags"] == 0]
    merged = batch.frame.merge(measured, on=["timestamp", "area", "variable"], suffixes=("", "_r"))
    assert len(merged) == len(batch.frame)
    assert (merged["value"] == merged["value_r"]).all()
    fr = store.series("weather_observed", "temperature_2m_c", "FR")
    assert len(fr) == 3
    # Lyon's null hour comes back as a cleaner-made row (interpolated: the gap is short)
    lyon = store.series("weather_observed", "temperature_2m_c", "lyon")
    assert len(lyon) == 3
