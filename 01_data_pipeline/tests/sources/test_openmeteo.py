"""Open-Meteo connector against a real local HTTP server serving hand-written fixtures."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings, get_settings, reset_settings_cache
from edip_pipeline.http import SourceError
from edip_pipeline.schema import Flag, Vintage, validate
from edip_pipeline.sources.base import Period, Source
from edip_pipeline.sources.openmeteo import (
    CITIES,
    PREVIOUS_RUNS_VARIABLES,
    VARIABLES,
    City,
    OpenMeteoSource,
    WeightedRateLimiter,
    weighted_calls,
)
from edip_pipeline.store import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "openmeteo"
HOURLY = (
    "temperature_2m,apparent_temperature,relative_humidity_2m,cloud_cover,"
    "wind_speed_10m,shortwave_radiation"
)
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
    settings: Settings, cities: tuple[City, ...] = THREE, now: str = "2025-01-10T12:00Z"
) -> OpenMeteoSource:
    limiter = WeightedRateLimiter(sleep=lambda s: None)
    return OpenMeteoSource(
        settings, cities=cities, limiter=limiter, clock=lambda: pd.Timestamp(now)
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


def test_city_list_is_sane() -> None:
    assert 12 <= len(CITIES) <= 15
    assert len({c.slug for c in CITIES}) == len(CITIES)
    for c in CITIES:
        assert re.fullmatch(r"[a-z\-]+", c.slug)
        assert 42.0 < c.lat < 51.5
        assert -5.0 < c.lon < 8.5
        assert c.population > 300_000
    assert CITIES[0].slug == "paris"


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


def test_weighted_calls_formula() -> None:
    assert weighted_calls(6, 1, 1) == 1.0
    assert weighted_calls(15, 14, 1) == 1.5
    assert weighted_calls(15, 28, 1) == 3.0
    assert weighted_calls(6, 366, 15) == pytest.approx(0.6 * 366 / 14 * 15)  # ≈ 235 per year


def test_rate_limiter_waits_for_the_window() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    lim = WeightedRateLimiter(((60.0, 600.0),), clock=lambda: now[0], sleep=sleep)
    lim.acquire(250)
    now[0] = 10.0
    lim.acquire(250)
    assert slept == []
    now[0] = 20.0
    lim.acquire(250)  # 750 > 600: wait until the first call leaves the window (t=60)
    assert slept == [pytest.approx(40.0)]
    lim.acquire(700)  # heavier than the cap: goes through once the window is empty
    assert now[0] >= 80.0


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
    assert "temperature_2m_c: mean city coverage 66.7%" in notes
    assert "cloud_cover_pct: no value at 1 city(ies): lyon" in notes
    assert "open-meteo: wind_speed_10m_kmh all-null at lyon" in caplog.text


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
