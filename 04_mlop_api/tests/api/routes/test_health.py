"""``/health`` and ``/ready`` over HTTP against the real uvicorn subprocess; ``/ready`` with a
damaged store (a real partition truncated on disk)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd
from filelock import FileLock

from edip_api.api.routes.health import store_integrity
from edip_pipeline.store import Store
from edip_testkit.live import cut_sample_store
from edip_testkit.platform import Registry, platform_env, running_api


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
    assert body["store"]["damage"] == []


def _two_versions(root: Path) -> Store:
    """The sample up to 2020-12-01 (v1), then to its end (v2: a new 2020 file)."""
    from edip_pipeline.ingest import ingest_dataset
    from edip_pipeline.sources.sample import SAMPLE_DATASET, sample_period

    store = cut_sample_store(root, pd.Timestamp("2020-12-01", tz="UTC"))
    report = ingest_dataset("sample", SAMPLE_DATASET, start=pd.Timestamp("2020-11-20", tz="UTC"),
                            end=sample_period().end, store=store)  # fmt: skip
    assert report.ok, report.error
    return store


def test_ready_names_a_damaged_partition_and_serves_the_recovered_data(tmp_path: Path) -> None:
    """A truncated partition used to leave /ready true while every forecast failed."""
    store = _two_versions(tmp_path / "data")
    env = platform_env(store, None, tmp_path / "log.db")  # no registry: the fallback model
    with running_api(env) as api, api.client() as c:
        assert c.get("/ready").json()["store"]["damage"] == []
        damaged = store.versions.current("load_national") / "year=2020" / "part.parquet"
        with open(damaged, "r+b") as fh:
            fh.truncate(4096)
        r = c.get("/ready")
        body = r.json()
        assert r.status_code == 200, body  # recovered from v1: the API can serve
        assert body["store"]["readable"] is True
        [line] = body["store"]["damage"]
        assert f"{damaged.parent.parent.name}/year=2020/part.parquet" in line
        assert "edip data repair --dataset load_national" in line
        assert body["store"]["last_timestamp"].startswith("2020-11-30T23:30")  # v1 ends there
        forecast = c.get("/v1/forecast", params={"origin": "2020-11-30T12:00:00+01:00"})
        assert forecast.status_code == 200, forecast.text


def test_a_damaged_store_that_cannot_be_recovered_is_not_ready(tmp_path: Path) -> None:
    """A write holding the lock for longer than /ready waits (1 s): not ready, and why."""
    store = _two_versions(tmp_path / "data")
    path = store.versions.current("load_national") / "year=2020" / "part.parquet"
    path.write_bytes(b"damaged")
    with FileLock(str(store.root / ".store.lock")):  # a long write holds the lock
        intact, damage = store_integrity(Store(store.root, store.params))
    assert not intact
    assert "not recovered" in damage[0]
