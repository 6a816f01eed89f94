"""ENTSO-E connector against a real local HTTP server serving hand-written A65 answers."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings, reset_settings_cache
from edip_pipeline.flows.ingest import resolve_sources
from edip_pipeline.http import SourceError
from edip_pipeline.ingest import ingest_dataset
from edip_pipeline.schema import Vintage, validate
from edip_pipeline.sources import get_source
from edip_pipeline.sources.base import Period, Source
from edip_pipeline.sources.entsoe import EntsoeSource, year_chunks
from edip_pipeline.sources.openmeteo.ratelimit import WeightedRateLimiter
from edip_pipeline.store import Store

from .conftest import API, TOKEN, body, query

JAN15 = Period.parse("2024-01-15", "2024-01-16")  # 2024-01-14T23:00Z → 2024-01-15T23:00Z
XML = "text/xml"


def source(settings: Settings) -> EntsoeSource:
    return EntsoeSource(
        settings, limiter=WeightedRateLimiter(((60.0, 400.0),), sleep=lambda s: None)
    )


def serve_day(httpserver: HTTPServer) -> None:
    for process, name in (("A01", "a65_a01_2024-01-15.xml"), ("A16", "a65_a16_2024-01-15.xml")):
        httpserver.expect_request(
            API, query_string=query(process, "202401142300", "202401152300")
        ).respond_with_data(body(name), content_type=XML)


def test_protocol_and_registry(entsoe_settings: Settings) -> None:
    src: Source = source(entsoe_settings)
    assert (src.name, src.datasets) == ("entsoe", ("total-load",))
    assert src.target_datasets("total-load") == ["load_entsoe"]
    assert isinstance(get_source("entsoe", entsoe_settings), EntsoeSource)
    assert ("entsoe", "total-load") in resolve_sources("all")
    assert TOKEN not in repr(entsoe_settings)  # a SecretStr


def test_fetch_exact_queries_and_hourly_rows(
    entsoe_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    serve_day(httpserver)
    [batch] = source(entsoe_settings).fetch("total-load", JAN15, store)
    assert len(httpserver.log) == 2
    frame = validate(batch.frame)
    assert batch.dataset == "load_entsoe"
    assert set(frame["area"]) == {"FR"}
    fc = frame[frame["variable"] == "entsoe_forecast_d1_mw"].set_index("timestamp")
    act = frame[frame["variable"] == "entsoe_actual_mw"].set_index("timestamp")
    hours = pd.date_range("2024-01-14T23:00Z", periods=24, freq="h")
    assert list(fc.index) == list(hours)
    assert fc["value"].tolist() == [70000.0 + 100 * h for h in range(24)]
    assert (fc["vintage"] == int(Vintage.FORECAST)).all()
    assert (act["vintage"] == int(Vintage.REALTIME)).all()
    # quarter-hours averaged per hour; curve A03 omits position 6: it repeats position 5
    assert act["value"].iloc[0] == 69015.0
    assert act["value"].iloc[1] == (69040 + 69040 + 69060 + 69070) / 4
    assert act["value"].iloc[5] == 69015.0 + 40 * 5
    assert len(list((store.raw_dir / "entsoe" / "total-load").glob("*.xml"))) == 2


@pytest.mark.parametrize("status", [200, 400])
def test_no_data_acknowledgement_is_an_empty_answer(
    entsoe_settings: Settings, store: Store, httpserver: HTTPServer, status: int
) -> None:
    httpserver.expect_request(API).respond_with_data(
        body("ack_no_data.xml"), status=status, content_type=XML
    )
    [batch] = source(entsoe_settings).fetch("total-load", JAN15, store)
    assert batch.frame.empty
    assert sum("no data" in n for n in batch.notes) == 2


def test_refusals_name_the_reason_and_never_the_token(
    entsoe_settings: Settings,
    store: Store,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(API).respond_with_data(
        body("ack_bad_request.xml"), status=400, content_type=XML
    )
    with pytest.raises(SourceError) as err:
        source(entsoe_settings).fetch("total-load", JAN15, store)
    assert "HTTP 400" in str(err.value)
    assert "Mandatory parameter" in str(err.value)
    assert len(httpserver.log) == 1  # a 400 is not retried
    httpserver.clear()
    httpserver.expect_request(API).respond_with_data("<html>Unauthorized</html>", status=401)
    with pytest.raises(SourceError, match="check EDIP_ENTSOE_TOKEN") as err:
        source(entsoe_settings).fetch("total-load", JAN15, store)
    assert TOKEN not in str(err.value)
    # every log line of EDIP and its HTTP libraries (the test server's access log aside)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert TOKEN not in ours
    assert "securityToken" in ours  # the debug lines were there, blanked


def test_retries_on_503_and_429_then_success(
    entsoe_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    a01 = query("A01", "202401142300", "202401152300")
    httpserver.expect_ordered_request(API, query_string=a01).respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(API, query_string=a01).respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request(API, query_string=a01).respond_with_data(
        body("a65_a01_2024-01-15.xml"), content_type=XML
    )
    httpserver.expect_ordered_request(API).respond_with_data(
        body("ack_no_data.xml"), content_type=XML
    )
    [batch] = source(entsoe_settings).fetch("total-load", JAN15, store)
    assert [r.status_code for _, r in httpserver.log] == [503, 429, 200, 200]
    assert set(batch.frame["variable"]) == {"entsoe_forecast_d1_mw"}


def test_gives_up_after_the_attempts(
    entsoe_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(API).respond_with_data("down", status=502)
    with pytest.raises(SourceError, match="HTTP 502"):
        source(entsoe_settings).fetch("total-load", JAN15, store)
    assert len(httpserver.log) == entsoe_settings.http_max_attempts


def test_without_token_nothing_is_asked(
    entsoe_settings: Settings,
    store: Store,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EDIP_ENTSOE_TOKEN")
    reset_settings_cache()
    bare = Settings()
    assert not EntsoeSource.enabled(bare)
    assert ("entsoe", "total-load") not in resolve_sources("all")
    with pytest.raises(SourceError, match="EDIP_ENTSOE_TOKEN"):
        source(bare).fetch("total-load", JAN15, store)
    assert httpserver.log == []


def test_queries_are_chunked_by_year() -> None:
    chunks = year_chunks(Period.parse("2019-01-01", "2021-03-01"))
    assert [(c.start.isoformat(), c.end.isoformat()) for c in chunks] == [
        ("2018-12-31T23:00:00+00:00", "2019-12-31T23:00:00+00:00"),
        ("2019-12-31T23:00:00+00:00", "2020-12-31T23:00:00+00:00"),
        ("2020-12-31T23:00:00+00:00", "2021-02-28T23:00:00+00:00"),
    ]


def test_ingest_writes_the_store(
    entsoe_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    serve_day(httpserver)
    report = ingest_dataset(
        "entsoe", "total-load", start="2024-01-15", end="2024-01-16", store=store
    )
    assert report.ok, report.error
    assert [w.dataset for w in report.writes] == ["load_entsoe"]
    stored = store.series("load_entsoe", "entsoe_forecast_d1_mw")
    assert len(stored) == 24
    assert stored.iloc[-1] == 72300.0
