"""``/v1/data/status`` and ``/v1/features`` over HTTP against the real uvicorn subprocess."""

from __future__ import annotations

import httpx


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
