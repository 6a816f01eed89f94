"""``POST /v1/predict`` over HTTP against the real uvicorn subprocess."""

from __future__ import annotations

import httpx


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
