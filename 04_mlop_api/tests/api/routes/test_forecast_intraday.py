"""``GET /v1/forecast/intraday`` with no intraday model registered: the documented fallback, the
day-ahead champion, answers and says so (real uvicorn; the trained intraday model's round trip:
02_ml_forecast/tests/training/test_intraday.py)."""

from __future__ import annotations

import httpx

from ...conftest import wait_logged

ORIGIN = "2020-12-10T18:00:00+01:00"


def test_without_an_intraday_model_the_day_ahead_champion_answers_and_says_so(
    client: httpx.Client,
) -> None:
    params = {"origin": ORIGIN, "horizon": 30}
    day_ahead = client.get("/v1/forecast", params=params).json()
    r = client.get("/v1/forecast/intraday", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    model = body["model"]
    assert (model["name"], model["version"]) == (
        day_ahead["model"]["name"],
        day_ahead["model"]["version"],
    )
    assert model["registered_model"] == "edip-load-fr"
    assert model["reason"].startswith("no intraday model (edip-load-fr-intraday@champion")
    assert day_ahead["model"]["reason"] is None
    assert [p["p50"] for p in body["points"]] == [p["p50"] for p in day_ahead["points"]]
    assert len(body["points"]) == 30
    logged = wait_logged(client, body["request_id"], 30)  # logged like /v1/forecast
    assert {i["model_version"] for i in logged} == {model["version"]}


def test_the_intraday_route_is_in_the_openapi_schema(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "origin" in {p["name"] for p in paths["/v1/forecast/intraday"]["get"]["parameters"]}
