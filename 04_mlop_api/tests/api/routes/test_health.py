"""``/health`` and ``/ready`` over HTTP against the real uvicorn subprocess."""

from __future__ import annotations

import httpx

from edip_testkit.platform import Registry


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
