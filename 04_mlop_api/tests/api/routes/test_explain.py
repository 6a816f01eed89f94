"""``/v1/forecast/explain`` over HTTP against the real uvicorn subprocess: store, return, missing."""

from __future__ import annotations

from typing import Any

import httpx

from edip_api.api.routes.explain import TOLERANCE_MW
from edip_pipeline.contributions import BASELINE, CONTRIBUTIONS, RECENT_LOAD
from edip_testkit.platform import RunningApi

from ...conftest import wait_logged

ORIGIN = "2020-12-14T12:00:00+01:00"
DAY = "2020-12-15"


def _served(client: httpx.Client, rid: str) -> list[dict[str, Any]]:
    r = client.get(
        "/v1/forecast", params={"origin": ORIGIN, "horizon": 36}, headers={"X-Request-ID": rid}
    )
    assert r.status_code == 200, r.text
    wait_logged(client, rid, 36)
    points: list[dict[str, Any]] = r.json()["points"]
    return points


def _body(rid: str, points: list[dict[str, Any]], **change: Any) -> dict[str, Any]:
    """A decomposition of the served points: 20 % recent load, the rest the baseline."""
    return {
        "request_id": rid,
        "target_day": DAY,
        "origin": ORIGIN,
        "model_name": "lightgbm",
        "model_version": "1",
        "method": "TreeSHAP (LightGBM pred_contrib) × reference load",
        "points": [
            {
                "target_time": p["target_time"],
                "p50": p["p50"],
                "contributions": {BASELINE: p["p50"] * 0.8, RECENT_LOAD: p["p50"] * 0.2},
            }
            for p in points
        ],
        **change,
    }


def test_an_explanation_is_stored_once_and_returned(client: httpx.Client, api: RunningApi) -> None:
    points = _served(client, "explain-store")
    body = _body("explain-store", points)
    assert httpx.post(f"{api.url}/v1/forecast/explain", json=body).status_code == 401
    first = client.post("/v1/forecast/explain", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["created"] is True
    again = client.post("/v1/forecast/explain", json=_body("explain-store", points, method="x"))
    assert again.json()["created"] is False
    assert again.json()["explanation"]["method"].startswith("TreeSHAP")
    got = client.get("/v1/forecast/explain", params={"target_day": DAY})
    assert got.status_code == 200, got.text
    out = got.json()
    assert out["available"] is True
    assert out["reason"] is None
    assert [c["name"] for c in out["contributions"]] == list(CONTRIBUTIONS)
    assert len(out["points"]) == 36
    for p in out["points"]:
        assert set(p["contributions"]) == set(CONTRIBUTIONS)
        assert abs(sum(p["contributions"].values()) - p["p50"]) < TOLERANCE_MW
    day = [p for p in out["points"] if p["target_time_paris"].startswith(DAY)]
    assert len(day) == 24
    mean = sum(p["p50"] for p in day) / 24
    assert abs(out["day_mean"]["p50"] - mean) < 1e-6
    assert abs(out["day_mean"][RECENT_LOAD] - 0.2 * mean) < 1e-6
    by_id = client.get("/v1/forecast/explain", params={"request_id": "explain-store"}).json()
    assert by_id == out


def test_what_does_not_add_up_or_was_not_served_is_refused(client: httpx.Client) -> None:
    points = _served(client, "explain-refused")
    off = _body("explain-refused", points)
    off["points"][3]["contributions"][BASELINE] += 5.0
    r = client.post("/v1/forecast/explain", json=off)
    assert r.status_code == 422
    assert "add up" in r.json()["detail"]
    shifted = _body("explain-refused", points)
    for p in shifted["points"]:
        p["p50"] += 50.0
        p["contributions"][BASELINE] += 50.0
    r = client.post("/v1/forecast/explain", json=shifted)
    assert r.status_code == 422
    assert "not the one served" in r.json()["detail"]
    unknown = _body("explain-refused", points)
    unknown["points"][0]["contributions"] = {"magic": points[0]["p50"]}
    assert client.post("/v1/forecast/explain", json=unknown).status_code == 422
    never = _body("explain-never-served", points)
    r = client.post("/v1/forecast/explain", json=never)
    assert r.status_code == 422
    assert "no forecast is logged" in r.json()["detail"]


def test_no_decomposition_is_said_plainly(client: httpx.Client) -> None:
    """A fallback issued, a network champion, nothing issued: 200 or 404, never a 500."""
    r = client.get("/v1/forecast/explain", params={"target_day": "2020-12-01"})
    assert r.status_code == 404
    assert "no forecast was issued" in r.json()["detail"]
    assert client.get("/v1/forecast/explain").status_code == 422
    assert client.get("/v1/forecast/explain", params={"request_id": "nope"}).status_code == 404
    issuance = {
        "target_day": "2020-12-02",
        "status": "fallback",
        "fallback": True,
        "due_at": "2020-12-01T12:00:00+01:00",
        "origin": "2020-12-01T12:00:00+01:00",
        "model_name": "same_hour_last_week",
        "request_id": "issue-2020-12-02-fallback",
    }
    assert client.post("/v1/issuances", json=issuance).status_code == 200
    out = client.get("/v1/forecast/explain", params={"target_day": "2020-12-02"}).json()
    assert out["available"] is False
    assert "fallback" in out["reason"]
    assert out["points"] == []
    dl = {
        "request_id": "explain-dl",
        "target_day": "2020-12-03",
        "origin": "2020-12-02T12:00:00+01:00",
        "model_name": "tcn",
        "model_version": "4",
        "available": False,
        "reason": "the champion tcn (a network) has no exact decomposition",
    }
    assert client.post("/v1/forecast/explain", json=dl).status_code == 200
    out = client.get("/v1/forecast/explain", params={"target_day": "2020-12-03"}).json()
    assert out["available"] is False
    assert "network" in out["reason"]
    assert client.post("/v1/forecast/explain", json={**dl, "reason": None}).status_code == 422


def test_the_routes_are_in_the_openapi_schema(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/v1/forecast/explain"])
    assert "404" in paths["/v1/forecast/explain"]["get"]["responses"]
