"""``POST /v1/predict`` over HTTP against the real uvicorn subprocess."""

from __future__ import annotations

import time

import httpx
import pytest

from edip_testkit.platform import RunningApi


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


def _day_rows(client: httpx.Client) -> list[dict[str, float | None]]:
    names = client.get("/v1/model").json()["feature_names"]
    rows = client.get(
        "/v1/features",
        params={"start": "2020-12-10", "end": "2020-12-10", "columns": ",".join(names)},
    ).json()["items"]
    return [{k: r[k] for k in names} for r in rows]


@pytest.mark.parametrize("value", [1e39, -3.5e38])
def test_a_feature_infinite_in_float32_is_a_422(client: httpx.Client, value: float) -> None:
    """1e39 is finite in float64 and infinite in the model's float32: the model answered inf
    and the log record refused it (a 500)."""
    rows = _day_rows(client)[:2]
    rows[1][next(iter(rows[1]))] = value
    r = client.post("/v1/predict", json={"rows": rows})
    assert r.status_code == 422, r.text
    assert "float32" in r.json()["detail"]


def test_an_anonymous_predict_is_answered_but_not_logged(
    client: httpx.Client, api: RunningApi
) -> None:
    """One anonymous POST of 10,000 rows added 10,000 log rows: without the key nothing is
    written (EDIP_ANONYMOUS_LOGGING=none by default)."""
    rows = _day_rows(client)
    anonymous = httpx.post(f"{api.url}/v1/predict", json={"rows": rows}, timeout=30)
    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json()["logged"] is False
    keyed = client.post("/v1/predict", json={"rows": rows})
    assert keyed.json()["logged"] is True
    for _ in range(100):  # the writer is FIFO: once the keyed rows are in, so would be the others
        if len(wait_logged_predict(client, keyed.json()["request_id"])) == len(rows):
            break
        time.sleep(0.2)
    assert wait_logged_predict(client, anonymous.json()["request_id"]) == []
