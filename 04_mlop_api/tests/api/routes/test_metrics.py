"""``/v1/metrics/summary`` and Prometheus ``/metrics`` over HTTP against the real uvicorn subprocess."""

from __future__ import annotations

import httpx
import pytest


def test_metrics_summary_and_prometheus(client: httpx.Client) -> None:
    assert client.get("/v1/forecast").status_code == 200  # a forecast route sample to export
    r = client.get("/v1/metrics/summary", params={"window": "28d"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["window"] == "28d"
    assert set(body) >= {"start", "end", "models", "rte_d1", "daily", "actual"}
    assert "load_national/consumption_mw" in body["actual"]  # every score names its actual
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


@pytest.mark.parametrize("end", ["0.5", "1608462000", "２０２０-12-20T00:00:00Z"])
def test_metrics_summary_takes_iso_8601_only(client: httpx.Client, end: str) -> None:
    """``end=0.5`` was read as a Unix time (1970-01-01T00:00:00.5Z)."""
    r = client.get("/v1/metrics/summary", params={"end": end})
    assert r.status_code == 422, r.text
    assert client.get("/v1/metrics/summary", params={"end": "2020-12-20T00:00:00Z"}).is_success
