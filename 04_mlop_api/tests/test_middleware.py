"""The request middleware (body limit) over HTTP against the real uvicorn subprocess."""

from __future__ import annotations

import httpx

from .conftest import MAX_BODY


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
