"""Every endpoint of the contract, over HTTP against the real uvicorn subprocess."""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import pandas as pd
import pytest

from edip_pipeline.features import build_features
from edip_pipeline.store import Store
from edip_testkit.platform import Registry, RunningApi

from .conftest import MAX_BODY

ORIGIN = "2020-12-10T12:00:00+01:00"


def wait_logged(client: httpx.Client, request_id: str, n: int, timeout_s: float = 20) -> list:
    """The log rows of a request once the writer has flushed them."""
    deadline = time.monotonic() + timeout_s
    items: list = []
    while time.monotonic() < deadline:
        r = client.get(
            "/v1/predictions",
            params={"start": "2020-12-01T00:00:00Z", "end": "2021-01-02T00:00:00Z", "limit": 5000},
        )
        items = [i for i in r.json()["items"] if i["request_id"] == request_id]
        if len(items) >= n:
            return items
        time.sleep(0.2)
    return items


def test_health_and_ready(client: httpx.Client, registry: Registry) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    r = client.get("/ready")
    assert r.status_code == 200
    body = r.json()
    assert body["ready"] is True
    assert body["model"]["source"] == "registry"
    assert body["model"]["version"] == registry.champion_version
    assert body["model"]["name"] == "lightgbm"
    assert body["store"]["readable"]
    assert body["store"]["data_version"]
    assert body["log_store"]["ok"] is True


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


def test_predict(client: httpx.Client) -> None:
    names = client.get("/v1/model").json()["feature_names"]
    rows = client.get(
        "/v1/features",
        params={"start": "2020-12-10", "end": "2020-12-10", "columns": ",".join(names)},
    ).json()["items"]
    assert len(rows) == 24
    body = {"rows": [{k: r[k] for k in names} for r in rows]}
    r = client.post("/v1/predict", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["feature_names"] == names
    assert len(out["predictions"]) == 24
    assert all(30_000 < p["p50"] < 100_000 for p in out["predictions"])
    assert len(wait_logged_predict(client, out["request_id"])) >= 0  # logged off 2020 window
    bad = {"rows": [{**body["rows"][0], "not_a_feature": 1.0}]}
    r = client.post("/v1/predict", json=bad)
    assert r.status_code == 422
    assert "not_a_feature" in r.text
    missing = {"rows": [{k: v for k, v in body["rows"][0].items() if k != names[0]}]}
    assert client.post("/v1/predict", json=missing).status_code == 422
    assert client.post("/v1/predict", json={"rows": []}).status_code == 422
    assert client.post("/v1/predict", content=b"{not json").status_code == 422


def wait_logged_predict(client: httpx.Client, request_id: str) -> list:
    r = client.get(
        "/v1/predictions",
        params={"start": "1970-01-01T00:00:00Z", "end": "1970-02-01T00:00:00Z"},
    )
    return [i for i in r.json()["items"] if i["request_id"] == request_id]


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


def test_body_too_large_413(client: httpx.Client) -> None:
    n = MAX_BODY // 30
    body = {
        "actuals": [{"timestamp": "2020-06-02T00:00:00Z", "consumption_mw": 1.0} for _ in range(n)]
    }
    r = client.post("/v1/actuals", json=body)
    assert r.status_code == 413
    assert "larger than" in r.json()["detail"]

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(10):
            yield b" " * (MAX_BODY // 5)

    r = client.post("/v1/actuals", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


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


def test_metrics_summary_and_prometheus(client: httpx.Client) -> None:
    r = client.get("/v1/metrics/summary", params={"window": "28d"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["window"] == "28d"
    assert set(body) >= {"start", "end", "models", "rte_d1", "daily"}
    for bad in ("7x", "100d", "0h", ""):
        assert client.get("/v1/metrics/summary", params={"window": bad}).status_code == 422
    text = client.get("/metrics").text
    for name in (
        "edip_requests_total",
        "edip_request_latency_seconds",
        "edip_model_info",
        "edip_fallback_in_use",
        "edip_log_queue_depth",
        "edip_log_records_written_total",
    ):
        assert name in text
    assert 'route="/v1/forecast"' in text
    assert "edip_fallback_in_use 0.0" in text


def test_model_endpoints(client: httpx.Client, registry: Registry) -> None:
    m = client.get("/v1/model").json()
    assert m["registered_model"] == registry.model_name
    assert m["run_id"]
    assert m["feature_names"]
    assert m["feature_params"]["origin_hour_local"] == 12
    assert m["trained_on"]["end"] == "2020-11-30"
    assert "mape" in m["backtest_metrics"]
    versions = client.get("/v1/model/versions").json()["versions"]
    champ = [v for v in versions if "champion" in v["aliases"]]
    assert champ
    assert champ[0]["version"] == registry.champion_version
    assert champ[0]["family"] == "lightgbm"
    assert champ[0]["backtest_mape"] > 0
    info = client.post("/v1/model/reload").json()
    assert info["source"] == "registry"
    assert info["version"] == registry.champion_version


def test_data_status_and_features(client: httpx.Client) -> None:
    status = client.get("/v1/data/status").json()
    rows = {(d["dataset"], d["variable"]): d for d in status["datasets"]}
    load = rows[("load_national", "consumption_mw")]
    assert load["last"].startswith("2020-12-31T22:30:00")
    assert load["missing_steps"] == 0
    assert load["rows"] > 30_000
    assert status["prefect_reachable"] in (True, False)
    f = client.get(
        "/v1/features",
        params={"start": "2020-12-01", "end": "2020-12-03", "columns": "load_lag_7d,load_mw"},
    ).json()
    assert f["columns"] == ["load_lag_7d", "load_mw"]
    assert len(f["items"]) == 72
    assert all(i["load_mw"] > 30_000 for i in f["items"])
    assert (
        client.get("/v1/features", params={"start": "2020-01-01", "end": "2021-12-31"}).status_code
        == 422
    )
    r = client.get(
        "/v1/features", params={"start": "2020-12-01", "end": "2020-12-02", "columns": "nope"}
    )
    assert r.status_code == 422
    assert "nope" in r.text


def test_unknown_route_and_method(client: httpx.Client) -> None:
    r = client.get("/v1/nothing")
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}
    assert client.delete("/v1/forecast").status_code == 405
