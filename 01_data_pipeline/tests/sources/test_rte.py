"""RTE Data portal connector against a real local HTTP server (OAuth2 + short_term)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings, get_settings, reset_settings_cache
from edip_pipeline.http import SourceError
from edip_pipeline.schema import Vintage, validate
from edip_pipeline.sources.base import Period, Source
from edip_pipeline.sources.rte import RteSource, windows
from edip_pipeline.store import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "rte"
TOKEN = "/token/oauth/"
SHORT_TERM = "/open_api/consumption/v1/short_term"
ACCESS = json.loads((FIX / "token.json").read_text())["access_token"]
BASIC = "Basic " + base64.b64encode(b"my-id:my-secret").decode()
JAN15 = Period.parse("2024-01-15", "2024-01-17")
JAN15_QUERY = {
    "type": "REALISED,D-1",
    "start_date": "2024-01-15T00:00:00+01:00",
    "end_date": "2024-01-17T00:00:00+01:00",
}


@pytest.fixture
def rte_settings(
    settings: Settings, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("EDIP_RTE_BASE_URL", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("EDIP_RTE_CLIENT_ID", "my-id")
    monkeypatch.setenv("EDIP_RTE_CLIENT_SECRET", "my-secret")
    reset_settings_cache()
    return get_settings()


def serve_token(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        TOKEN, method="POST", headers={"Authorization": BASIC}, data="grant_type=client_credentials"
    ).respond_with_data((FIX / "token.json").read_bytes(), content_type="application/json")


def serve_data(httpserver: HTTPServer, name: str, query: dict[str, str] | None = None) -> None:
    httpserver.expect_request(
        SHORT_TERM,
        method="GET",
        headers={"Authorization": f"Bearer {ACCESS}"},
        query_string=query,
    ).respond_with_data((FIX / name).read_bytes(), content_type="application/json")


def calls(httpserver: HTTPServer, path: str) -> int:
    return sum(1 for req, _ in httpserver.log if req.path == path)


def test_protocol_and_metadata(rte_settings: Settings) -> None:
    src: Source = RteSource(rte_settings)
    assert src.name == "rte"
    assert src.datasets == ("short_term",)
    assert src.revision_family == {"short_term": "rte"}
    assert src.target_datasets("short_term") == ["load_national"]
    assert RteSource.enabled(rte_settings)


def test_disabled_without_credentials(
    settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    bare = Settings(
        rte_base_url=httpserver.url_for("/"), rte_client_id=None, rte_client_secret=None
    )
    assert not RteSource.enabled(bare)
    half = Settings(rte_base_url=httpserver.url_for("/"), rte_client_id="x", rte_client_secret=None)
    assert not RteSource.enabled(half)
    with pytest.raises(SourceError) as err:
        RteSource(bare).fetch("short_term", JAN15, store)
    assert "EDIP_RTE_CLIENT_ID" in str(err.value)
    assert "EDIP_RTE_CLIENT_SECRET" in str(err.value)
    assert err.value.dataset == "short_term"
    assert httpserver.log == []


def test_fetch_exact_requests_and_rows(
    rte_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    serve_token(httpserver)
    serve_data(httpserver, "short_term_2024-01-15.json", JAN15_QUERY)
    [batch] = RteSource(rte_settings).fetch("short_term", JAN15, store)
    token_req = httpserver.log[0][0]
    assert token_req.method == "POST"
    assert token_req.path == TOKEN
    assert token_req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    # the "+" of the offsets travels percent-encoded
    raw_query = httpserver.log[1][0].query_string.decode()
    assert "start_date=2024-01-15T00%3A00%3A00%2B01%3A00" in raw_query
    assert batch.dataset == "load_national"
    frame = validate(batch.frame)
    assert set(frame["area"]) == {"FR"}
    assert (frame["source"] == "rte:short_term").all()
    got = {
        (v, t.isoformat()): (x, g)
        for v, t, x, g in zip(
            frame["variable"],
            pd.DatetimeIndex(frame["timestamp"]),
            frame["value"],
            frame["vintage"],
            strict=True,
        )
    }
    real, fcst = int(Vintage.REALTIME), int(Vintage.FORECAST)
    assert got == {
        ("consumption_mw", "2024-01-14T23:00:00+00:00"): (62345.0, real),
        ("consumption_mw", "2024-01-14T23:30:00+00:00"): (61410.0, real),  # numeric string
        # 00:00 UTC is null: no row; :15/:45 quarters are dropped
        ("consumption_mw", "2024-01-15T00:30:00+00:00"): (59502.0, real),
        ("forecast_d1_mw", "2024-01-14T23:00:00+00:00"): (62600.0, fcst),
        ("forecast_d1_mw", "2024-01-14T23:30:00+00:00"): (61700.0, fcst),
        ("forecast_d1_mw", "2024-01-15T00:00:00+00:00"): (60800.0, fcst),
        ("forecast_d1_mw", "2024-01-15T00:30:00+00:00"): (59900.0, fcst),
    }
    assert len(list((rte_settings.data_dir / "raw" / "rte" / "short_term").glob("*.json"))) == 1


@pytest.mark.parametrize(
    ("name", "first", "counts", "offsets"),
    [
        ("spring", "2024-03-30", [48, 46], ("+01:00", "+02:00")),
        ("autumn", "2024-10-26", [48, 50], ("+02:00", "+01:00")),
    ],
)
def test_clock_change_days(
    rte_settings: Settings,
    store: Store,
    httpserver: HTTPServer,
    name: str,
    first: str,
    counts: list[int],
    offsets: tuple[str, str],
) -> None:
    period = Period.parse(first, str((pd.Timestamp(first) + pd.Timedelta("2D")).date()))
    last = str((pd.Timestamp(first) + pd.Timedelta("2D")).date())
    serve_token(httpserver)
    serve_data(
        httpserver,
        f"short_term_dst_{name}.json",
        {
            "type": "REALISED,D-1",
            "start_date": f"{first}T00:00:00{offsets[0]}",
            "end_date": f"{last}T00:00:00{offsets[1]}",
        },
    )
    [batch] = RteSource(rte_settings).fetch("short_term", period, store)
    for variable in ("consumption_mw", "forecast_d1_mw"):
        ts = pd.DatetimeIndex(
            batch.frame.loc[batch.frame["variable"] == variable, "timestamp"]
        ).sort_values()
        # a regular UTC half-hour grid, without duplicates or holes
        expected = pd.date_range(period.start, period.end, freq="30min", inclusive="left")
        assert list(ts) == list(expected)
        per_day = (
            pd.Series(1, index=ts.tz_convert("Europe/Paris")).groupby(lambda t: t.date()).size()
        )
        assert per_day.tolist() == counts


def test_windows_are_chunked_at_paris_midnights() -> None:
    got = [
        (a.isoformat(), b.isoformat()) for a, b in windows(Period.parse("2024-01-01", "2024-02-10"))
    ]
    assert got == [
        ("2024-01-01T00:00:00+01:00", "2024-02-01T00:00:00+01:00"),
        ("2024-02-01T00:00:00+01:00", "2024-02-10T00:00:00+01:00"),
    ]
    across = windows(Period.parse("2024-03-15", "2024-04-05"))
    assert [(a.isoformat(), b.isoformat()) for a, b in across] == [
        ("2024-03-15T00:00:00+01:00", "2024-04-05T00:00:00+02:00")
    ]
    # one day (or less) is widened back to the 2-day minimum; partial days round outwards
    short = Period(pd.Timestamp("2024-06-10T08:00Z"), pd.Timestamp("2024-06-10T09:00Z"))
    assert [(a.isoformat(), b.isoformat()) for a, b in windows(short)] == [
        ("2024-06-09T00:00:00+02:00", "2024-06-11T00:00:00+02:00")
    ]
    assert len(windows(Period.parse("2024-01-01", "2024-06-01"))) == 5


def test_fetch_sends_one_call_per_window(
    rte_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    serve_token(httpserver)
    serve_data(httpserver, "empty.json")
    [batch] = RteSource(rte_settings).fetch(
        "short_term", Period.parse("2024-01-01", "2024-02-10"), store
    )
    assert batch.frame.empty
    data = [dict(req.args.items()) for req, _ in httpserver.log if req.path == SHORT_TERM]
    assert data == [
        {
            "type": "REALISED,D-1",
            "start_date": "2024-01-01T00:00:00+01:00",
            "end_date": "2024-02-01T00:00:00+01:00",
        },
        {
            "type": "REALISED,D-1",
            "start_date": "2024-02-01T00:00:00+01:00",
            "end_date": "2024-02-10T00:00:00+01:00",
        },
    ]
    assert calls(httpserver, TOKEN) == 1  # the token is reused between windows


def test_token_cached_until_expiry(
    rte_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    serve_token(httpserver)
    serve_data(httpserver, "short_term_2024-01-15.json")
    now = [1000.0]
    src = RteSource(rte_settings, clock=lambda: now[0])
    src.fetch("short_term", JAN15, store)
    now[0] += 3000.0  # still within expires_in (3600) minus the margin
    src.fetch("short_term", JAN15, store)
    assert calls(httpserver, TOKEN) == 1
    now[0] += 600.0  # 3600 s later: past expires_in - 60
    src.fetch("short_term", JAN15, store)
    assert calls(httpserver, TOKEN) == 2
    assert calls(httpserver, SHORT_TERM) == 3


def test_reauth_once_on_401(rte_settings: Settings, store: Store, httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    httpserver.expect_oneshot_request(SHORT_TERM).respond_with_json(
        {"error": "invalid_token", "error_description": "The access token expired"}, status=401
    )
    serve_data(httpserver, "short_term_2024-01-15.json")
    [batch] = RteSource(rte_settings).fetch("short_term", JAN15, store)
    assert len(batch.frame) == 7
    assert [(r.path, resp.status_code) for r, resp in httpserver.log] == [
        (TOKEN, 200),
        (SHORT_TERM, 401),
        (TOKEN, 200),
        (SHORT_TERM, 200),
    ]


def test_second_401_fails(rte_settings: Settings, store: Store, httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    httpserver.expect_request(SHORT_TERM).respond_with_json(
        {"error": "invalid_token", "error_description": "Bad token"}, status=401
    )
    with pytest.raises(SourceError, match=r"HTTP 401: invalid_token Bad token.*EDIP_RTE_CLIENT_ID"):
        RteSource(rte_settings).fetch("short_term", JAN15, store)
    assert calls(httpserver, TOKEN) == 2
    assert calls(httpserver, SHORT_TERM) == 2


def test_token_refused(rte_settings: Settings, store: Store, httpserver: HTTPServer) -> None:
    httpserver.expect_request(TOKEN).respond_with_json(
        {"error": "invalid_client", "error_description": "Bad client credentials"}, status=401
    )
    with pytest.raises(
        SourceError, match="RTE token request failed: HTTP 401: invalid_client"
    ) as err:
        RteSource(rte_settings).fetch("short_term", JAN15, store)
    assert TOKEN in err.value.url
    assert calls(httpserver, SHORT_TERM) == 0


def test_400_error_description(
    rte_settings: Settings, store: Store, httpserver: HTTPServer
) -> None:
    serve_token(httpserver)
    httpserver.expect_request(SHORT_TERM).respond_with_data(
        (FIX / "error_400.json").read_bytes(), status=400, content_type="application/json"
    )
    with pytest.raises(
        SourceError, match="CONSUMPTION_SHORTTERM_F03 The API does not provide"
    ) as err:
        RteSource(rte_settings).fetch("short_term", JAN15, store)
    assert SHORT_TERM in err.value.url
    assert "start_date=" in err.value.url


@pytest.mark.parametrize(("status", "headers"), [(429, {"Retry-After": "1"}), (500, {})])
def test_transient_error_then_success(
    rte_settings: Settings,
    store: Store,
    httpserver: HTTPServer,
    status: int,
    headers: dict[str, str],
) -> None:
    serve_token(httpserver)
    httpserver.expect_oneshot_request(SHORT_TERM).respond_with_data(
        "try later", status=status, headers=headers
    )
    serve_data(httpserver, "short_term_2024-01-15.json", JAN15_QUERY)
    [batch] = RteSource(rte_settings).fetch("short_term", JAN15, store)
    assert len(batch.frame) == 7
    assert [resp.status_code for r, resp in httpserver.log if r.path == SHORT_TERM] == [status, 200]
    assert calls(httpserver, TOKEN) == 1  # a retried call keeps its token


@pytest.mark.parametrize(
    "payload",
    [b"<html>Service Unavailable</html>", (FIX / "short_term_2024-01-15.json").read_bytes()[:400]],
    ids=["malformed", "truncated"],
)
def test_malformed_and_truncated_json(
    rte_settings: Settings, store: Store, httpserver: HTTPServer, payload: bytes
) -> None:
    serve_token(httpserver)
    httpserver.expect_request(SHORT_TERM).respond_with_data(payload)
    with pytest.raises(SourceError, match="malformed or truncated JSON") as err:
        RteSource(rte_settings).fetch("short_term", JAN15, store)
    assert err.value.dataset == "short_term"
    assert SHORT_TERM in err.value.url
    assert "type=REALISED" in err.value.url


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"results": []}, "expected {'short_term': [...]}"),
        ({"short_term": [{"type": "REALISED"}]}, "short_term block without a 'values' array"),
        ({"short_term": [{"type": "D-1", "values": [{"value": 1}]}]}, "unreadable D-1 values"),
    ],
)
def test_wrong_shape(
    rte_settings: Settings, store: Store, httpserver: HTTPServer, payload: object, message: str
) -> None:
    serve_token(httpserver)
    httpserver.expect_request(SHORT_TERM).respond_with_json(payload)
    with pytest.raises(SourceError, match=re.escape(message)) as err:
        RteSource(rte_settings).fetch("short_term", JAN15, store)
    assert err.value.dataset == "short_term"
    assert SHORT_TERM in err.value.url


def test_empty_period(rte_settings: Settings, store: Store, httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    serve_data(httpserver, "empty.json")
    [batch] = RteSource(rte_settings).fetch(
        "short_term", Period.parse("2011-01-01", "2011-01-03"), store
    )
    assert batch.dataset == "load_national"
    assert batch.frame.empty
    assert not store.write(batch.dataset, batch.frame).changed


def test_store_round_trip(rte_settings: Settings, store: Store, httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    serve_data(httpserver, "short_term_dst_autumn.json")
    period = Period.parse("2024-10-26", "2024-10-28")
    [batch] = RteSource(rte_settings).fetch("short_term", period, store)
    result = store.write(batch.dataset, batch.frame)
    assert result.changed
    assert result.rows_in == 2 * 98
    s = store.series("load_national", "consumption_mw", "FR", period.start, period.end)
    assert len(s) == 98
    assert s.notna().all()
    back = store.read("load_national", period.start, period.end)
    assert set(back["vintage"]) == {int(Vintage.REALTIME), int(Vintage.FORECAST)}
    merged = batch.frame.merge(back, on=["timestamp", "area", "variable"], suffixes=("", "_r"))
    assert (merged["value"] == merged["value_r"]).all()
