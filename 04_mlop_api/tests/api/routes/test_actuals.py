"""``/v1/actuals`` over HTTP against the real uvicorn subprocess."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from edip_testkit.platform import RunningApi


def test_actuals_need_the_key(api: RunningApi) -> None:
    body = {"actuals": [{"timestamp": "2020-06-01T00:00:00Z", "consumption_mw": 50000.0}]}
    assert httpx.post(f"{api.url}/v1/actuals", json=body).status_code == 401
    r = httpx.post(f"{api.url}/v1/actuals", json=body, headers={"X-API-Key": "wrong"})
    assert r.status_code == 401
    assert r.json() == {"detail": "missing or invalid API key (X-API-Key header)"}
    assert httpx.post(f"{api.url}/v1/model/reload").status_code == 401


def test_actuals_upsert_idempotent(client: httpx.Client) -> None:
    ts = "2020-06-02T00:00:00+02:00"
    first = {"actuals": [{"timestamp": ts, "consumption_mw": 51000.0, "rte_forecast_d1_mw": 50500}]}
    assert client.post("/v1/actuals", json=first).json() == {"upserted": 1}
    assert client.post("/v1/actuals", json=first).json() == {"upserted": 1}
    nulls = {"actuals": [{"timestamp": ts, "consumption_mw": None}]}
    assert client.post("/v1/actuals", json=nulls).status_code == 200
    items = client.get(
        "/v1/actuals", params={"start": "2020-06-01T20:00:00Z", "end": "2020-06-01T23:00:00Z"}
    ).json()
    assert items["total"] == 1
    assert items["items"][0]["consumption_mw"] == 51000.0
    assert items["items"][0]["rte_forecast_d1_mw"] == 50500.0
    assert datetime.fromisoformat(items["items"][0]["timestamp"]) == datetime.fromisoformat(ts)


@pytest.mark.parametrize(
    "body",
    [
        {"actuals": [{"timestamp": "2020-06-02T00:00:00", "consumption_mw": 1.0}]},
        {"actuals": [{"timestamp": "not a time", "consumption_mw": 1.0}]},
        {"actuals": [{"timestamp": "2020-06-02T00:00:00Z", "consumption_mw": -5}]},
        {"actuals": []},
        {"nothing": 1},
    ],
)
def test_actuals_422(client: httpx.Client, body: dict) -> None:
    r = client.post("/v1/actuals", json=body)
    assert r.status_code == 422, r.text
    assert "detail" in r.json()
