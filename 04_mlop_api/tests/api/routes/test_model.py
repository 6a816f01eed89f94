"""``/v1/model``, its versions and reload over HTTP against the real uvicorn subprocess."""

from __future__ import annotations

import httpx

from edip_testkit.platform import Registry


def test_model_endpoints(client: httpx.Client, registry: Registry) -> None:
    m = client.get("/v1/model").json()
    assert m["registered_model"] == registry.model_name
    assert m["run_id"]
    assert m["feature_names"]
    assert m["feature_params"]["origin_hour_local"] == 12
    assert m["trained_on"]["end"] == "2020-11-30"
    assert "mape" in m["backtest_metrics"]
    versions = client.get("/v1/model/versions").json()["versions"]
    champ = [v for v in versions if "champion" in v["aliases"]]
    assert champ
    assert champ[0]["version"] == registry.champion_version
    assert champ[0]["family"] == "lightgbm"
    assert champ[0]["backtest_mape"] > 0
    info = client.post("/v1/model/reload").json()
    assert info["source"] == "registry"
    assert info["version"] == registry.champion_version


def test_online_state_endpoints_check_the_key_and_the_served_model(
    client: httpx.Client, registry: Registry
) -> None:
    """The route is wired, keyed and refuses with a reason: another version, or a champion
    without an online state (LightGBM here); nothing is kept (the success path, a Kalman
    champion fed by the loop, is 02_ml_forecast's test_backtest_equals_served)."""
    version = registry.champion_version
    body = {"model": registry.model_name, "version": version, "day": "2020-12-01",
            "state": {"kind": "kalman", "theta": [1.0]}}  # fmt: skip
    anon = httpx.put(f"{client.base_url}/v1/model/online-state", json=body)
    assert anon.status_code == 401
    other = client.put("/v1/model/online-state", json={**body, "version": "999"})
    assert other.status_code == 409
    assert f"v{version}" in other.json()["detail"]
    plain = client.put("/v1/model/online-state", json=body)
    assert plain.status_code == 409
    assert "no online state" in plain.json()["detail"]
    bad_day = client.put("/v1/model/online-state", json={**body, "day": "2020-13-01"})
    assert bad_day.status_code == 422
    missing = client.get("/v1/model/online-state")
    assert missing.status_code == 404
    assert f"v{version}" in missing.json()["detail"]
    assert client.get("/v1/model").json()["online_last_day"] is None
