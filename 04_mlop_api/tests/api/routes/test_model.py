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
