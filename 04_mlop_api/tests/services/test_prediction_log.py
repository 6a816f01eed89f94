"""The prediction log service: a client's X-Request-ID names one logged forecast (409 on reuse)."""

from __future__ import annotations

import uuid

import httpx

from ..conftest import wait_logged


def test_reused_request_id_on_a_different_forecast_is_refused(client: httpx.Client) -> None:
    rid = f"client-{uuid.uuid4().hex[:12]}"
    headers = {"X-Request-ID": rid}
    first = client.get(
        "/v1/forecast", params={"origin": "2020-12-11T12:00:00+01:00"}, headers=headers
    )
    assert first.status_code == 200, first.text
    assert first.json()["request_id"] == rid
    # the same forecast again under the same id: idempotent (edip replay re-runs rely on it)
    again = client.get(
        "/v1/forecast", params={"origin": "2020-12-11T12:00:00+01:00"}, headers=headers
    )
    assert again.status_code == 200, again.text
    other = client.get(
        "/v1/forecast", params={"origin": "2020-12-12T12:00:00+01:00"}, headers=headers
    )
    assert other.status_code == 409, other.text
    assert "X-Request-ID" in other.json()["detail"]
    logged = wait_logged(client, rid, 24)
    assert len(logged) == 24
    served = {p["target_time"]: p["p50"] for p in first.json()["points"]}
    assert {i["target_time"]: i["p50"] for i in logged} == served


def test_generated_request_ids_are_unique(client: httpx.Client) -> None:
    ids = {
        client.get("/v1/forecast", params={"origin": "2020-12-11T12:00:00+01:00"}).json()[
            "request_id"
        ]
        for _ in range(3)
    }
    assert len(ids) == 3
