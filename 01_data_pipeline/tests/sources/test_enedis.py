"""Enedis connector against a real local HTTP server serving hand-written Data Fair pages."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings, get_settings, reset_settings_cache
from edip_pipeline.http import SourceError
from edip_pipeline.schema import Vintage, validate
from edip_pipeline.sources.base import Period, Source
from edip_pipeline.sources.enedis import EnedisSource, label_slug
from edip_pipeline.store import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "enedis"
LINES = "/data-fair/api/v1/datasets/conso-inf36-region/lines"
SELECT = "horodate,code_region,profil,plage_de_puissance_souscrite,total_energie_soutiree_wh"
PERIOD = Period(pd.Timestamp("2024-01-15T00:00Z"), pd.Timestamp("2024-01-15T01:30Z"))
FIRST_QUERY = {
    "size": "10000",
    "sort": "horodate",
    "select": SELECT,
    "horodate_gte": "2024-01-15T00:00:00Z",
    "horodate_lt": "2024-01-15T01:30:00Z",
}


@pytest.fixture
def en_settings(
    settings: Settings, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("EDIP_ENEDIS_BASE_URL", httpserver.url_for("/data-fair/api/v1"))
    reset_settings_cache()
    return get_settings()


def page(name: str, settings: Settings) -> str:
    return (FIX / name).read_text().replace("__BASE__", settings.enedis_base_url)


def serve_two_pages(httpserver: HTTPServer, settings: Settings) -> None:
    httpserver.expect_request(LINES, query_string=FIRST_QUERY).respond_with_data(
        page("inf36_page1.json", settings), content_type="application/json"
    )
    httpserver.expect_request(
        LINES, query_string={**FIRST_QUERY, "after": "1705278600000,3"}
    ).respond_with_data(page("inf36_page2.json", settings), content_type="application/json")


def test_protocol_and_metadata(en_settings: Settings) -> None:
    src: Source = EnedisSource(en_settings)
    assert src.name == "enedis"
    assert src.datasets == ("conso-inf36-region", "conso-sup36-region")
    assert src.revision_family == {"conso-inf36-region": "enedis", "conso-sup36-region": "enedis"}
    assert src.target_datasets("conso-sup36-region") == ["load_enedis"]
    with pytest.raises(SourceError, match="unknown dataset"):
        src.target_datasets("conso-inf36")


@pytest.mark.parametrize(
    ("label", "slug"),
    [
        ("P1: ]0-3] kVA", "p1"),
        ("P0: Total <= 36 kVA", "p0"),
        ("RES1 (+ RES1WE)", "res1_res1we"),
        ("ENT3 (+ ENT4 + ENT5)", "ent3_ent4_ent5"),
        ("Secteur non affecté", "secteur_non_affecte"),
        ("RES11_BASE", "res11_base"),
        (None, "unknown"),
    ],
)
def test_label_slug(label: str | None, slug: str) -> None:
    assert label_slug(label) == slug
    assert re.fullmatch(r"^[a-z0-9_:.\-]+$", slug)


def test_cursor_pagination_masked_and_numeric_strings(
    en_settings: Settings, store: Store, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    serve_two_pages(httpserver, en_settings)
    with caplog.at_level(logging.INFO, logger="edip_pipeline.sources.enedis"):
        [batch] = EnedisSource(en_settings).fetch("conso-inf36-region", PERIOD, store)
    # the second call is exactly the absolute `next` URL of page 1
    assert len(httpserver.log) == 2
    next_url = json.loads(page("inf36_page1.json", en_settings))["next"]
    second = httpserver.log[1][0]
    assert second.path == LINES
    assert second.query_string.decode() == next_url.split("?", 1)[1]  # sent as given
    assert dict(httpserver.log[0][0].args.items()) == FIRST_QUERY
    assert batch.dataset == "load_enedis"
    frame = validate(batch.frame)
    assert (frame["vintage"] == int(Vintage.CONSOLIDATED)).all()
    assert (frame["source"] == "enedis:conso-inf36-region").all()
    got = {
        (t.strftime("%H:%M"), a, v): x
        for t, a, v, x in zip(
            pd.DatetimeIndex(frame["timestamp"]),
            frame["area"],
            frame["variable"],
            frame["value"],
            strict=True,
        )
    }
    assert got == {
        ("00:00", "84", "inf36:res1_res1we:p1"): pytest.approx(41234567.0 / 0.5 / 1e6),
        ("00:00", "11", "inf36:pro1_pro1we:p0"): pytest.approx(25.0),  # "12500000" Wh
        ("00:30", "84", "inf36:res1_res1we:p1"): pytest.approx(80.222446),
        ("00:30", "11", "inf36:pro1_pro1we:p0"): pytest.approx(24.96),
    }  # two "S" and one null total: no row
    assert any("skipped 2 masked ('S') and 1 null" in n for n in batch.notes)
    assert "skipped 2 totals masked by statistical secrecy and 1 null totals" in caplog.text
    raws = list((en_settings.data_dir / "raw" / "enedis" / "conso-inf36-region").glob("*.json"))
    assert len(raws) == 2


def test_sup36_variable_has_sector(
    en_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(
        "/data-fair/api/v1/datasets/conso-sup36-region/lines",
        query_string={
            **FIRST_QUERY,
            "select": "horodate,code_region,profil,plage_de_puissance_souscrite,"
            "secteur_activite,total_energie_soutiree_wh",
            "code_region_in": "52,84",
        },
    ).respond_with_data((FIX / "sup36_page.json").read_bytes())
    src = EnedisSource(en_settings, regions=["52", "84"])
    [batch] = src.fetch("conso-sup36-region", PERIOD, store)
    assert sorted(batch.frame["variable"]) == [
        "sup36:ent3_ent4_ent5:p6:industrie",
        "sup36:ent3_ent4_ent5:p6:secteur_non_affecte",
    ]
    assert set(batch.frame["area"]) == {"52"}
    assert batch.frame["value"].sum() == pytest.approx((98765432.0 + 1500000.0) * 2e-6)


def test_autumn_clock_change_day_has_50_half_hours(
    en_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    day = Period.parse("2024-10-27", "2024-10-28")  # a Paris day: 25 hours
    httpserver.expect_request(
        LINES,
        query_string={
            **FIRST_QUERY,
            "horodate_gte": "2024-10-26T22:00:00Z",
            "horodate_lt": "2024-10-27T23:00:00Z",
        },
    ).respond_with_data((FIX / "inf36_dst_2024-10-27.json").read_bytes())
    [batch] = EnedisSource(en_settings).fetch("conso-inf36-region", day, store)
    ts = pd.DatetimeIndex(batch.frame["timestamp"])
    assert len(ts) == 50
    assert list(ts) == list(pd.date_range("2024-10-26T22:00Z", periods=50, freq="30min"))
    # both 02:00 local hours are there, as distinct UTC instants
    local = ts.tz_convert("Europe/Paris")
    assert (local.hour == 2).sum() == 4


def test_429_with_retry_after_then_success(
    en_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request(LINES).respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_oneshot_request(LINES).respond_with_data(
        (FIX / "sup36_page.json").read_bytes().replace(b"52", b"84")
    )
    src = EnedisSource(en_settings)
    [batch] = src.fetch("conso-inf36-region", PERIOD, store)
    assert [r.status_code for _, r in httpserver.log] == [429, 200]
    assert len(batch.frame) == 1  # sup36 rows read as inf36: the sector is not in the slug


def test_500_then_success(en_settings: Settings, store: Store, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(LINES).respond_with_data("boom", status=500)
    httpserver.expect_oneshot_request(LINES).respond_with_data((FIX / "empty.json").read_bytes())
    [batch] = EnedisSource(en_settings).fetch("conso-inf36-region", PERIOD, store)
    assert [r.status_code for _, r in httpserver.log] == [500, 200]
    assert batch.frame.empty


@pytest.mark.parametrize(
    "payload",
    [
        b"Cette couche de compatibilit\xc3\xa9 ne supporte pas cette requ\xc3\xaate.",
        (FIX / "inf36_page2.json").read_bytes()[:300],
    ],
    ids=["malformed", "truncated"],
)
def test_malformed_and_truncated_json(
    en_settings: Settings, store: Store, httpserver: HTTPServer, payload: bytes
) -> None:
    httpserver.expect_request(LINES).respond_with_data(payload)
    with pytest.raises(SourceError, match="malformed or truncated JSON") as err:
        EnedisSource(en_settings).fetch("conso-inf36-region", PERIOD, store)
    assert err.value.dataset == "conso-inf36-region"
    assert LINES in err.value.url
    assert "horodate_gte=" in err.value.url


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "expected a Data Fair page"),
        ({"total_count": 1, "records": []}, "expected a Data Fair page"),
        (
            {"results": [{"horodate": "2024-01-15T00:00:00+00:00"}]},
            "row without horodate/code_region",
        ),
        (
            {
                "results": [
                    {
                        "code_region": "84",
                        "horodate": "2024-01-15T00:00:00+00:00",
                        "total_energie_soutiree_wh": 1,
                    }
                ],
                "next": 5,
            },
            "'next' is not a URL",
        ),
    ],
)
def test_wrong_shape(
    en_settings: Settings, store: Store, httpserver: HTTPServer, payload: object, message: str
) -> None:
    httpserver.expect_request(LINES).respond_with_json(payload)
    with pytest.raises(SourceError, match=re.escape(message)) as err:
        EnedisSource(en_settings).fetch("conso-inf36-region", PERIOD, store)
    assert err.value.dataset == "conso-inf36-region"
    assert LINES in err.value.url


def test_pagination_loop_is_refused(
    en_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    body = json.loads(page("inf36_page1.json", en_settings))
    body["next"] = httpserver.url_for(LINES) + "?after=x"
    httpserver.expect_request(LINES).respond_with_json(body)
    with pytest.raises(SourceError, match="pagination loops back"):
        EnedisSource(en_settings).fetch("conso-inf36-region", PERIOD, store)


def test_empty_period(en_settings: Settings, store: Store, httpserver: HTTPServer) -> None:
    httpserver.expect_request(LINES).respond_with_data((FIX / "empty.json").read_bytes())
    [batch] = EnedisSource(en_settings).fetch("conso-inf36-region", PERIOD, store)
    assert batch.dataset == "load_enedis"
    assert batch.frame.empty
    assert len(httpserver.log) == 1
    assert not store.write(batch.dataset, batch.frame).changed


def test_store_round_trip(en_settings: Settings, store: Store, httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver, en_settings)
    [batch] = EnedisSource(en_settings).fetch("conso-inf36-region", PERIOD, store)
    result = store.write(batch.dataset, batch.frame)
    assert result.changed
    assert result.rows_in == 4
    back = store.read("load_enedis")
    s = store.series("load_enedis", "inf36:res1_res1we:p1", "84")
    assert s.iloc[0] == pytest.approx(82.469134)
    assert len(back[back["flags"] == 0]) == 4
    # writing the same rows again changes nothing
    assert not store.write(batch.dataset, batch.frame).changed
