"""The request middleware over HTTP: body limit (real API subprocess), and a 500 that keeps the
keep-alive connection open (a real uvicorn serving an app with the middleware and a failing route).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from edip_api.middleware import RequestContextMiddleware
from edip_api.observability import Metrics
from edip_testkit.platform import RunningApi, free_port

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


def test_anonymous_bodies_have_a_smaller_limit(api: RunningApi) -> None:
    rows = {"rows": [{"x": 1.0}] * 30_000}  # ~300 kB: over the platform's anonymous 100 kB
    r = httpx.post(f"{api.url}/v1/predict", json=rows, timeout=30)
    assert r.status_code == 413, r.text
    assert "without the API key" in r.json()["detail"]
    keyed = httpx.post(f"{api.url}/v1/predict", json={"rows": [{"x": 1.0}] * 5000},
                       headers=api.headers, timeout=30)  # fmt: skip
    assert keyed.status_code == 422  # read (wrong feature names), not refused for its size


@pytest.fixture
def failing_app_url() -> Iterator[str]:
    """A real uvicorn on an app with the middleware, one failing route and one good route."""
    app = FastAPI()

    @app.get("/boom")
    def boom() -> dict[str, str]:
        raise RuntimeError("a bug")

    @app.get("/fine")
    def fine() -> dict[str, bool]:
        return {"ok": True}

    app.add_middleware(
        RequestContextMiddleware, max_body_bytes=1000, metrics=Metrics(), api_key=SecretStr("k")
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_500_keeps_the_keep_alive_connection(failing_app_url: str) -> None:
    """Starlette's ServerErrorMiddleware re-raises after its 500, and uvicorn then closed the
    connection: the client's next request on it failed too."""
    conn = http.client.HTTPConnection(failing_app_url, timeout=10)
    try:
        conn.request("GET", "/boom")
        r = conn.getresponse()
        body = json.loads(r.read())
        assert r.status == 500
        assert body["detail"] == "internal error"
        assert body["request_id"] == r.getheader("x-request-id")
        assert (r.getheader("connection") or "").lower() != "close"
        conn.request("GET", "/fine")  # the same socket
        again = conn.getresponse()
        assert again.status == 200
        assert json.loads(again.read()) == {"ok": True}
    finally:
        conn.close()
    with httpx.Client(base_url=f"http://{failing_app_url}") as client:  # a pooled client too
        assert client.get("/boom").status_code == 500
        assert client.get("/fine").status_code == 200
