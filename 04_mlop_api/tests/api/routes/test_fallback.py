"""``GET /v1/fallback``: the documented fallback the loop issues, computed and logged by the API."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd

from edip_pipeline.features import build_features
from edip_pipeline.store import Store
from edip_testkit.platform import RunningApi

from ...conftest import wait_logged

ORIGIN = "2020-12-10T12:00:00+01:00"


def test_the_fallback_needs_the_key(api: RunningApi) -> None:
    r = httpx.get(f"{api.url}/v1/fallback", params={"origin": ORIGIN}, timeout=30)
    assert r.status_code == 401


def test_the_fallback_is_same_hour_last_week_and_logged(client: httpx.Client, store: Store) -> None:
    rid = "fallback-test-1"
    r = client.get(
        "/v1/fallback", params={"origin": ORIGIN, "horizon": 36}, headers={"X-Request-ID": rid}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["request_id"] == rid
    assert body["model"]["source"] == "fallback"
    assert body["model"]["name"] == "same_hour_last_week"
    points = body["points"]
    assert len(points) == 36
    assert all(p["p10"] is None and p["p90"] is None for p in points)
    # exactly the pipeline's feature: the load a whole number of weeks before, known at the origin
    origin = pd.Timestamp(ORIGIN).tz_convert("UTC")
    targets = pd.DatetimeIndex([pd.Timestamp(p["target_time"]) for p in points])
    expected = build_features(store, origin, targets).frame["load_same_hour_last_week"]
    np.testing.assert_allclose([p["p50"] for p in points], expected.to_numpy(), rtol=1e-9)
    logged = wait_logged(client, rid, 36)
    assert len(logged) == 36
    assert {i["model_name"] for i in logged} == {"same_hour_last_week"}


def test_the_served_champion_is_not_changed_by_asking_for_the_fallback(
    client: httpx.Client,
) -> None:
    client.get("/v1/fallback", params={"origin": ORIGIN, "horizon": 2})
    assert client.get("/ready").json()["model"]["source"] == "registry"
