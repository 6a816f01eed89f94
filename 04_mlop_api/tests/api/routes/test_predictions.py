"""``GET /v1/predictions`` (the log, paged) over HTTP against the real uvicorn subprocess."""

from __future__ import annotations

import httpx
import pytest


def test_paging_and_ranges(client: httpx.Client) -> None:
    r = client.get(
        "/v1/predictions",
        params={"start": "2020-01-01T00:00:00Z", "end": "2020-12-31T00:00:00Z"},
    )
    assert r.status_code == 422
    assert "92 days" in r.text
    client.get("/v1/forecast", params={"origin": "2020-12-12T12:00:00+01:00", "horizon": 10})
    page = client.get(
        "/v1/predictions",
        params={
            "start": "2020-12-01T00:00:00Z",
            "end": "2021-01-01T00:00:00Z",
            "limit": 3,
            "model": "lightgbm",
        },
    ).json()
    assert page["limit"] == 3
    assert len(page["items"]) <= 3
    if page["total"] > 3:
        assert page["next_offset"] == 3
    assert client.get("/v1/predictions", params={"limit": 5001}).status_code == 422
    assert client.get("/v1/predictions", params={"start": "bad"}).status_code == 422


@pytest.mark.parametrize("path", ["/v1/predictions", "/v1/actuals"])
def test_a_range_of_centuries_is_a_clear_422(client: httpx.Client, path: str) -> None:
    """1900..2199 overflowed pandas' Timedelta before the 92-day check: a 500."""
    r = client.get(path, params={"start": "1900-01-01T00:00:00Z", "end": "2199-12-31T00:00:00Z"})
    assert r.status_code == 422, r.text
    assert "exceeds 92 days" in r.json()["detail"]


def test_a_nul_in_the_model_filter_is_a_422(client: httpx.Client) -> None:
    """PostgreSQL refuses NUL characters in text parameters (a 500 there)."""
    r = client.get("/v1/predictions", params={"model": "lightgbm\x00"})
    assert r.status_code == 422, r.text
