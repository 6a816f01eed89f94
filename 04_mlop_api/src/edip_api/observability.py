"""Prometheus metrics of the API (``GET /metrics``).

Why a registry per app instead of prometheus-client's global one: the app factory runs many times
in one test process, and the global registry refuses a second registration. Multiprocess mode
(``--workers > 1``) is not wired: each worker exposes its own counters, so scrape one worker per
target or run one worker per container (documented in the README).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class Metrics:
    """The service's metrics, in their own :class:`CollectorRegistry`."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "edip_requests_total",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "edip_request_latency_seconds",
            "Request latency by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.model_info = Gauge(
            "edip_model_info",
            "1 for the model being served.",
            ["name", "version", "source"],
            registry=self.registry,
        )
        self.fallback = Gauge(
            "edip_fallback_in_use",
            "1 while the same-hour-last-week fallback is served.",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "edip_log_queue_depth",
            "Prediction records waiting for the log store.",
            registry=self.registry,
        )
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self.records_written = Gauge(
            "edip_log_records_written_total",
            "Prediction records written to the log store since start-up (counter semantics).",
            registry=self.registry,
        )

    def watch_builds(self, builds: Callable[[], float]) -> None:
        """Forecasts computed rather than served from cache (single-flight keeps it low)."""
        gauge = Gauge(
            "edip_forecast_builds_total",
            "Forecasts built from the store since start-up (counter semantics).",
            registry=self.registry,
        )
        gauge.set_function(builds)

    def watch_writer(self, depth: Callable[[], float], written: Callable[[], float]) -> None:
        """Read the log writer's figures at scrape time (no bookkeeping on the request path)."""
        self.queue_depth.set_function(depth)
        self.records_written.set_function(written)

    def set_model(self, name: str, version: str | None, source: str) -> None:
        """Point ``edip_model_info`` at the served model (one series set to 1)."""
        self.model_info.clear()
        self.model_info.labels(name=name, version=version or "", source=source).set(1)
        self.fallback.set(1 if source == "fallback" else 0)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count and time one request; the labelled series are looked up once per (route,
        method, status) — ``labels()`` on every request cost more than the counting."""
        key = (route, method, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self.requests.labels(route=route, method=method, status=str(status)),
                self.latency.labels(route=route),
            )
        series[0].inc()
        series[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
