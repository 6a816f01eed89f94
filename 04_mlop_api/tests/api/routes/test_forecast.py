"""``GET /v1/forecast`` over HTTP against the real uvicorn subprocess."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

from edip_pipeline.features import build_features
from edip_pipeline.store import Store

from ...conftest import wait_logged

ORIGIN = "2020-12-10T12:00:00+01:00"


def test_forecast_is_served_and_logged(client: httpx.Client, store: Store) -> None:
    r = client.get("/v1/forecast", params={"origin": ORIGIN, "horizon": 36})
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["x-request-id"] == body["request_id"]
    assert body["origin"].startswith("2020-12-10T11:00:00")
    points = body["points"]
    assert len(points) == 36
    first, last = points[0], points[-1]
    assert first["target_time"].startswith("2020-12-10T11:00:00")
    assert first["target_time_paris"].startswith("2020-12-10T12:00:00+01:00")
    assert last["horizon_h"] == 35.0
    for p in points:
        assert p["p10"] <= p["p50"] <= p["p90"]
        assert 30_000 < p["p50"] < 100_000
    # the forecast is close to what happened (a real model on real data)
    actual = store.series("load_national", "consumption_mw", start="2020-12-10T11:00Z")
    assert abs(points[0]["p50"] - actual.iloc[:2].mean()) / actual.iloc[0] < 0.15
    logged = wait_logged(client, body["request_id"], 36)
    assert len(logged) == 36
    assert {i["model_version"] for i in logged} == {body["model"]["version"]}


def test_forecast_same_features_as_the_pipeline(client: httpx.Client, store: Store) -> None:
    """The served fallback-free forecast uses edip_pipeline.features exactly: P50 of the same
    origin twice is identical (cache) and the horizon feature matches the pairs."""
    a = client.get("/v1/forecast", params={"origin": ORIGIN, "horizon": 5}).json()
    b = client.get("/v1/forecast", params={"origin": ORIGIN, "horizon": 5}).json()
    assert a["request_id"] != b["request_id"]
    assert [p["p50"] for p in a["points"]] == [p["p50"] for p in b["points"]]
    o = pd.Timestamp(ORIGIN).tz_convert("UTC")
    targets = pd.date_range(o, periods=5, freq="1h")
    ft = build_features(store, o, targets)
    assert list(ft.frame["horizon_h"]) == [p["horizon_h"] for p in a["points"]]


def test_default_origin_is_replay_now(client: httpx.Client) -> None:
    r = client.get("/v1/forecast")
    assert r.status_code == 200, r.text
    assert r.json()["origin"].startswith("2020-12-31T23:00:00")
    assert len(r.json()["points"]) == 24


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"origin": "2015-01-01T00:00:00Z"}, "far outside the data"),
        ({"origin": "2019-01-02T00:00:00Z"}, "far outside the data"),
        ({"origin": "2021-01-05T00:00:00Z"}, "in the future"),
        ({"origin": "2020-12-10T12:00:00"}, "offset"),
        ({"horizon": 0}, "horizon"),
        ({"horizon": 49}, "horizon"),
        ({"origin": "yesterday"}, "origin"),
    ],
)
def test_forecast_422(client: httpx.Client, params: dict, needle: str) -> None:
    r = client.get("/v1/forecast", params=params)
    assert r.status_code == 422, r.text
    assert needle in r.text
