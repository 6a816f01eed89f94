"""Property-based calls generated from the OpenAPI document: the API never answers 5xx."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from edip_testkit.platform import RunningApi


def test_no_server_error(api: RunningApi) -> None:
    """Every operation, a few generated cases each, authenticated (the key is put in every case,
    over whatever header was generated), answers no 5xx and matches its documented schema."""
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    failures: list[str] = []
    write_statuses: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), **api.headers}
            response = case.call_and_validate(
                checks=[not_a_server_error, response_schema_conformance]
            )
            if case.method.upper() == "POST":
                write_statuses.append(response.status_code)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:800]}")
    assert not failures, "\n".join(failures)
    assert write_statuses, "no write operation was called"
    assert 401 not in write_statuses, "the run must be authenticated"


def test_openapi_documents_every_route(api: RunningApi) -> None:
    doc = httpx.get(f"{api.url}/openapi.json").json()
    paths = set(doc["paths"])
    assert {
        "/health",
        "/ready",
        "/v1/forecast",
        "/v1/predict",
        "/v1/actuals",
        "/v1/predictions",
        "/v1/metrics/summary",
        "/v1/model",
        "/v1/model/versions",
        "/v1/model/reload",
        "/v1/data/status",
        "/v1/features",
        "/metrics",
    } <= paths
    assert "APIKeyHeader" in doc["components"]["securitySchemes"]
