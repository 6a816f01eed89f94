"""ODRÉ connector against a real local HTTP server (pytest-httpserver): protocol, records
pages, HTTP failures, payload shapes, store round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings
from edip_pipeline.http import HttpClient, SourceError
from edip_pipeline.schema import Vintage, validate
from edip_pipeline.sources import get_source
from edip_pipeline.sources.base import Period
from edip_pipeline.sources.odre.source import OdreSource
from edip_pipeline.store import Store

from .conftest import API, FIX, FakeOdre, series, tr_record, utc


# ------------------------------------------------------------------------------ protocol basics
def test_protocol_metadata(odre_env: Settings) -> None:
    src = get_source("odre", odre_env)
    assert isinstance(src, OdreSource)
    assert src.name == "odre"
    assert src.base_url == odre_env.odre_base_url.rstrip("/")
    assert set(src.datasets) == set(src.revision_family)
    assert src.target_datasets("eco2mix-national-tr") == ["load_national"]
    assert src.target_datasets("eco2mix-national-cons-def") == ["load_national"]
    assert src.target_datasets("eco2mix-regional-tr") == ["load_regional"]
    assert src.target_datasets("eco2mix-regional-cons-def") == ["load_regional"]
    assert src.target_datasets("consommation-quotidienne-brute") == ["load_national"]
    assert src.target_datasets("temperature-quotidienne-regionale") == ["temperature_daily"]
    fam = src.revision_family
    assert fam["eco2mix-national-tr"] == fam["eco2mix-regional-tr"] == "tr"
    assert {
        fam["eco2mix-national-cons-def"],
        fam["eco2mix-regional-cons-def"],
        fam["consommation-quotidienne-brute"],
        fam["temperature-quotidienne-regionale"],
    } == {"cons-def"}
    with pytest.raises(ValueError, match="unknown ODRE dataset"):
        src.target_datasets("nope")


def test_default_base_url(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.delenv("EDIP_ODRE_BASE_URL", raising=False)
    assert OdreSource(Settings()).base_url == "https://odre.opendatasoft.com/api/explore/v2.1"


# ------------------------------------------------------------------------------ records path
def test_records_fixture_values_nd_and_future_rows(
    source: OdreSource, httpserver: HTTPServer, store: Store
) -> None:
    body = (FIX / "eco2mix-national-tr_records.json").read_bytes()
    httpserver.expect_request(
        f"{API}/catalog/datasets/eco2mix-national-tr/records"
    ).respond_with_data(body, content_type="application/json; charset=utf-8")
    period = Period(utc("2024-01-15T09:00"), utc("2024-01-16T00:00"))
    [batch] = source.fetch("eco2mix-national-tr", period, store)
    frame = batch.frame
    assert batch.dataset == "load_national"
    validate(frame)
    assert (frame["vintage"] == int(Vintage.REALTIME)).all()
    assert (frame["source"] == "odre:eco2mix-national-tr").all()
    assert frame["value"].notna().all()  # nothing emitted for null / "ND" / ""
    assert set(frame["timestamp"].dt.minute) <= {0, 30}
    cons = series(frame, "consumption_mw")
    assert cons.to_dict() == {utc("2024-01-15T09:00"): 68512.0, utc("2024-01-15T09:30"): 68701.0}
    d1 = series(frame, "forecast_d1_mw")
    assert d1.to_dict() == {
        utc("2024-01-15T09:00"): 68900.0,
        utc("2024-01-15T09:30"): 69000.0,
        utc("2024-01-15T10:00"): 69100.0,
        utc("2024-01-15T23:00"): 61200.0,  # tomorrow: forecast kept, no consumption
        utc("2024-01-15T23:30"): 60850.0,
    }
    dd = series(frame, "forecast_d_mw")
    assert dd.to_dict() == {
        utc("2024-01-15T09:00"): 68700.0,
        utc("2024-01-15T10:00"): 68900.0,
        utc("2024-01-15T10:30"): 69050.0,
    }
    # the request: records, one page, UTC bounds, explicit timezone and order
    [(req, _)] = httpserver.log
    assert req.args["limit"] == "100"
    assert req.args["offset"] == "0"
    assert req.args["timezone"] == "UTC"
    assert req.args["order_by"] == "date_heure"
    assert req.args["where"] == (
        "date_heure >= '2024-01-15T09:00:00+00:00' and date_heure < '2024-01-16T00:00:00+00:00'"
    )
    assert "consommation" in req.args["select"].split(",")
    # the body was kept as received, before parsing
    raws = list((store.raw_dir / "odre" / "eco2mix-national-tr").glob("*.json"))
    assert [p.read_bytes() for p in raws] == [body]


def test_records_pagination_several_pages(
    source: OdreSource, httpserver: HTTPServer, store: Store
) -> None:
    stamps = pd.date_range("2024-02-05T00:00", periods=192 + 40, freq="15min", tz="UTC")
    fake = FakeOdre(
        httpserver, "eco2mix-national-tr", [tr_record(t, 50_000 + i) for i, t in enumerate(stamps)]
    )
    period = Period(utc("2024-02-05T00:00"), utc("2024-02-07T00:00"))
    [batch] = source.fetch("eco2mix-national-tr", period, store)
    assert fake.paths() == ["0", "100"]  # 192 rows: two pages of 100
    cons = series(batch.frame, "consumption_mw")
    assert len(cons) == 96
    assert cons.index[0] == period.start
    assert cons.index[-1] == utc("2024-02-06T23:30")
    assert cons.iloc[1] == 50_002.0  # the :30 row, not the :15 one
    assert len(list((store.raw_dir / "odre" / "eco2mix-national-tr").glob("*.json"))) == 2


# ------------------------------------------------------------------------------ HTTP failures
def test_429_with_retry_after_then_success(
    odre_env: Settings, httpserver: HTTPServer, store: Store
) -> None:
    waits: list[float] = []
    src = OdreSource(client=HttpClient(odre_env, sleep=waits.append))
    url = f"{API}/catalog/datasets/eco2mix-national-tr/records"
    httpserver.expect_oneshot_request(url).respond_with_json(
        {"error": "Too many requests on the domain.", "errorcode": 10002},
        status=429,
        headers={"Retry-After": "2"},
    )
    httpserver.expect_request(url).respond_with_data(
        (FIX / "eco2mix-national-tr_records.json").read_bytes(), content_type="application/json"
    )
    [batch] = src.fetch(
        "eco2mix-national-tr", Period(utc("2024-01-15T09:00"), utc("2024-01-16T00:00")), store
    )
    assert len(httpserver.log) == 2
    assert len(waits) == 1
    # Retry-After (2 s) is honoured up to the client's ceiling (5 × backoff max = 0.25 s here)
    assert waits[0] == pytest.approx(min(2.0, odre_env.http_backoff_max_s * 5))
    assert len(series(batch.frame, "consumption_mw")) == 2


def test_500_then_success(source: OdreSource, httpserver: HTTPServer, store: Store) -> None:
    url = f"{API}/catalog/datasets/eco2mix-regional-tr/records"
    httpserver.expect_oneshot_request(url).respond_with_data("upstream error", status=500)
    httpserver.expect_request(url).respond_with_data(
        (FIX / "eco2mix-regional-tr_records.json").read_bytes(), content_type="application/json"
    )
    [batch] = source.fetch(
        "eco2mix-regional-tr", Period(utc("2024-06-10T12:00"), utc("2024-06-10T13:00")), store
    )
    assert len(httpserver.log) == 2
    assert len(batch.frame) == 3


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<html><body>Service Unavailable</body></html>", "malformed or truncated JSON"),
        (
            '{"total_count": 2, "results": [{"date_heure": "2024-01-15T09:00:00+0',
            "malformed or truncated JSON",
        ),
        ('{"nhits": 2, "records": []}', "total_count"),
        ('[{"date_heure": "2024-01-15T09:00:00+00:00", "consommation": 1}]', "total_count"),
    ],
    ids=["malformed", "truncated", "legacy-v1-shape", "array-from-records"],
)
def test_bad_payloads_name_dataset_and_url(
    source: OdreSource, httpserver: HTTPServer, store: Store, body: str, reason: str
) -> None:
    httpserver.expect_request(
        f"{API}/catalog/datasets/eco2mix-national-tr/records"
    ).respond_with_data(body, content_type="application/json")
    with pytest.raises(SourceError) as info:
        source.fetch(
            "eco2mix-national-tr", Period(utc("2024-01-15T00:00"), utc("2024-01-16T00:00")), store
        )
    msg = str(info.value)
    assert "[eco2mix-national-tr]" in msg
    assert reason in msg
    assert httpserver.url_for(f"{API}/catalog/datasets/eco2mix-national-tr/records") in msg
    assert info.value.dataset == "eco2mix-national-tr"
    # the body was still kept in the raw layer (raw first, parse after)
    assert list((store.raw_dir / "odre" / "eco2mix-national-tr").glob("*.json"))


def test_missing_date_heure_is_a_source_error(
    source: OdreSource, httpserver: HTTPServer, store: Store
) -> None:
    httpserver.expect_request(
        f"{API}/catalog/datasets/eco2mix-national-tr/records"
    ).respond_with_json(
        {
            "total_count": 1,
            "results": [
                {"perimetre": "France", "date": "2024-01-15", "heure": "10:00", "consommation": 1}
            ],
        }
    )
    with pytest.raises(SourceError, match=r"\[eco2mix-national-tr\].*date_heure.*url: http"):
        source.fetch(
            "eco2mix-national-tr", Period(utc("2024-01-15T00:00"), utc("2024-01-16T00:00")), store
        )


def test_exports_returning_an_object_is_a_source_error(
    source: OdreSource, httpserver: HTTPServer, store: Store
) -> None:
    httpserver.expect_request(
        f"{API}/catalog/datasets/eco2mix-national-cons-def/exports/json"
    ).respond_with_json({"total_count": 0, "results": []})
    with pytest.raises(SourceError, match="bare JSON array"):
        source.fetch("eco2mix-national-cons-def", Period.parse("2023-01-01", "2023-01-10"), store)


def test_http_400_fails_at_once(source: OdreSource, httpserver: HTTPServer, store: Store) -> None:
    httpserver.expect_request(
        f"{API}/catalog/datasets/eco2mix-national-tr/records"
    ).respond_with_json({"error_code": "ODSQLError", "message": "Unknown field: x"}, status=400)
    with pytest.raises(SourceError, match="HTTP 400"):
        source.fetch("eco2mix-national-tr", Period.parse("2024-01-15", "2024-01-16"), store)
    assert len(httpserver.log) == 1


def test_empty_period(source: OdreSource, httpserver: HTTPServer, store: Store) -> None:
    FakeOdre(httpserver, "eco2mix-national-tr", [])
    [batch] = source.fetch("eco2mix-national-tr", Period.parse("2030-01-01", "2030-01-02"), store)
    assert batch.dataset == "load_national"
    assert batch.frame.empty
    validate(batch.frame)
    FakeOdre(httpserver, "eco2mix-national-cons-def", [])
    [batch] = source.fetch(
        "eco2mix-national-cons-def", Period.parse("2030-01-01", "2030-03-01"), store
    )
    assert batch.frame.empty
    assert store.write(batch.dataset, batch.frame).rows_in == 0


def test_regional_records(source: OdreSource, httpserver: HTTPServer, store: Store) -> None:
    httpserver.expect_request(
        f"{API}/catalog/datasets/eco2mix-regional-tr/records"
    ).respond_with_data(
        (FIX / "eco2mix-regional-tr_records.json").read_bytes(), content_type="application/json"
    )
    [batch] = source.fetch(
        "eco2mix-regional-tr", Period(utc("2024-06-10T12:00"), utc("2024-06-10T13:00")), store
    )
    frame = batch.frame
    assert batch.dataset == "load_regional"
    assert set(frame["variable"]) == {"consumption_mw"}
    assert series(frame, "consumption_mw", "32").to_dict() == {utc("2024-06-10T12:00"): 5120.0}
    assert series(frame, "consumption_mw", "84").to_dict() == {
        utc("2024-06-10T12:00"): 6985.0,
        utc("2024-06-10T12:30"): 7012.0,
    }
    assert (frame["vintage"] == int(Vintage.REALTIME)).all()
    result = store.write(batch.dataset, frame)
    assert result.rows_total >= 3
    back = store.read("load_regional", areas=["84"])
    assert back["value"].tolist() == [6985.0, 7012.0]


def test_store_round_trip(source: OdreSource, httpserver: HTTPServer, store: Store) -> None:
    stamps = pd.date_range(
        "2024-03-30T23:00", "2024-03-31T22:00", freq="15min", tz="UTC", inclusive="left"
    )
    FakeOdre(
        httpserver,
        "eco2mix-national-tr",
        [
            tr_record(t, 50_000 + 10 * np.sin(i / 7), forecast=50_500.0)
            for i, t in enumerate(stamps)
        ],
    )
    [batch] = source.fetch("eco2mix-national-tr", Period.parse("2024-03-31", "2024-04-01"), store)
    result = store.write(batch.dataset, batch.frame)
    assert result.changed
    assert result.rows_in == len(batch.frame)
    back = store.read("load_national", variables=["consumption_mw"])
    assert len(back) == 46
    np.testing.assert_allclose(
        back["value"].to_numpy(), series(batch.frame, "consumption_mw").to_numpy()
    )
    again = store.write(batch.dataset, batch.frame)  # idempotent
    assert again.content_hash == result.content_hash
    assert not again.changed
