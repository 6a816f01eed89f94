"""The two served variants of the combination: ``combination_rte`` served with RTE's D-1 forecast
read from the store at the origin, and its documented fallback (the no-RTE combination, flagged)
when that forecast is missing — in the answer and in the prediction log.

A platform of its own: the sample plus a synthetic ENTSO-E forecast for 2020-11-01..12-30 (none
for 12-31), ``combination_rte`` trained on it and made champion, a real API serving it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from edip_testkit.platform import Registry, platform_env, running_api, sample_store
from edip_testkit.rte import train_rte_champion, write_entsoe_forecast

from ...conftest import wait_logged


@pytest.fixture(scope="module")
def rte_client(
    tmp_path_factory: pytest.TempPathFactory, registry: Registry
) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("rte")
    with sample_store(root / "data") as store:
        write_entsoe_forecast(store, "2020-11-01", "2020-12-30")
        name = f"edip-load-fr-rte-{uuid.uuid4().hex[:8]}"
        version = train_rte_champion(store, registry.url, name, end="2020-12-20")
        rte = Registry(registry.url, name, version, registry.server, registry.root)
        with running_api(platform_env(store, rte, root / "log.db")) as api, api.client() as c:
            yield c


def forecast(client: httpx.Client, origin: str, horizon: int = 36) -> dict:
    r = client.get("/v1/forecast", params={"origin": origin, "horizon": horizon})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_served_with_rte_when_its_forecast_is_known(rte_client: httpx.Client) -> None:
    body = forecast(rte_client, "2020-12-28T12:00:00+01:00")
    assert body["model"]["name"] == "combination_rte"
    assert body["variant"] == "with_rte"
    assert body["variant_note"] is None
    logged = wait_logged(rte_client, body["request_id"], 36)
    assert {p["variant"] for p in logged} == {"with_rte"}


def test_missing_rte_forecast_falls_back_to_the_no_rte_combination(
    rte_client: httpx.Client,
) -> None:
    """12-31 has no RTE forecast: the 12-30 12:00 issuance is served whole by the no-RTE state."""
    body = forecast(rte_client, "2020-12-30T12:00:00+01:00")
    assert body["variant"] == "without_rte"
    assert "RTE's D-1 forecast is missing" in body["variant_note"]
    assert all(p["p50"] is not None for p in body["points"])
    logged = wait_logged(rte_client, body["request_id"], 36)
    assert {p["variant"] for p in logged} == {"without_rte"}


def test_before_10_paris_the_next_day_is_not_known_yet(rte_client: httpx.Client) -> None:
    """At 09:00 Paris on D-1 RTE's forecast of D is not published (10:00): no RTE variant."""
    early = forecast(rte_client, "2020-12-27T09:00:00+01:00", horizon=24)
    assert early["variant"] == "without_rte"
    later = forecast(rte_client, "2020-12-27T10:00:00+01:00", horizon=24)
    assert later["variant"] == "with_rte"


def test_a_model_without_rte_says_so(client: httpx.Client) -> None:
    body = forecast(client, "2020-12-28T12:00:00+01:00", horizon=24)
    assert body["variant"] == "without_rte"
    assert body["variant_note"] is None


def test_the_schema_documents_the_variant(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["Forecast"]
    assert schema["properties"]["variant"]["enum"] == ["with_rte", "without_rte"]
    assert "10:00 Paris" in schema["properties"]["variant"]["description"]
