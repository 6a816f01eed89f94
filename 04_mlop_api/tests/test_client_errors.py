"""Inputs that used to answer 500 now answer a 4xx with the documented error body."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/predictions", {"model": ""}),
        ("/v1/predictions", {"model": ":"}),
        ("/v1/metrics/summary", {"end": "0001-01-01T00:00:00Z"}),
        ("/v1/features", {"start": "2262-04-12", "end": "2262-04-13"}),
        ("/v1/features", {"start": "0001-01-01", "end": "0001-01-02"}),
        ("/v1/actuals", {"start": "0001-01-01T00:00:00+01:00"}),
        ("/v1/forecast", {"origin": "9999-12-31T23:59:59-01:00"}),
    ],
)
def test_get_edge_values_are_client_errors(
    client: httpx.Client, path: str, params: dict[str, str]
) -> None:
    r = client.get(path, params=params)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    detail = r.json()["detail"]
    assert isinstance(detail, str | list)
    assert detail


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_actuals_at_the_ends_of_time_are_422(client: httpx.Client, stamp: str) -> None:
    r = client.post("/v1/actuals", json={"actuals": [{"timestamp": stamp, "consumption_mw": 5e4}]})
    assert r.status_code == 422, r.text
    assert "year" in r.text


def test_service_422_matches_the_documented_error_schema(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    documented = doc["components"]["schemas"]["HTTPValidationError"]
    assert "anyOf" in str(documented["properties"]["detail"])
    r = client.get("/v1/forecast", params={"origin": "2015-01-01T00:00:00Z"})
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str)
