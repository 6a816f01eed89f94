"""The real platform, once per session: sample Store, MLflow server with a champion, the API.

Built with :mod:`edip_testkit.platform` (shared with the dashboard's tests and ``bench/api.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edip_pipeline.store import Store
from edip_testkit.platform import (
    Registry,
    RunningApi,
    platform_env,
    running_api,
    sample_store,
    start_mlflow,
    train_champion,
)

MAX_BODY = 300_000
ANONYMOUS_MAX_BODY = 100_000


@pytest.fixture(scope="session")
def platform_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("platform")


@pytest.fixture(scope="session")
def store(platform_root: Path) -> Iterator[Store]:
    with sample_store(platform_root / "data") as s:
        yield s


@pytest.fixture(scope="session")
def registry(platform_root: Path, store: Store) -> Iterator[Registry]:
    server = start_mlflow(platform_root / "mlflow")
    try:
        version = train_champion(store, server.url)
        yield Registry(server.url, "edip-load-fr", version, server, platform_root / "mlflow")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def api_env(store: Store, registry: Registry, platform_root: Path) -> dict[str, str]:
    return platform_env(
        store,
        registry,
        platform_root / "edip_log.db",
        EDIP_MAX_BODY_BYTES=str(MAX_BODY),
        EDIP_ANONYMOUS_MAX_BODY_BYTES=str(ANONYMOUS_MAX_BODY),
        EDIP_LOG_SPILL_DIR=str(platform_root / "spill"),
    )


@pytest.fixture(scope="session")
def api(api_env: dict[str, str]) -> Iterator[RunningApi]:
    with running_api(api_env) as running:
        yield running


@pytest.fixture
def client(api: RunningApi) -> Iterator[httpx.Client]:
    with api.client() as c:
        yield c


def wait_logged(client: httpx.Client, request_id: str, n: int, timeout_s: float = 20) -> list:
    """The log rows of a request once the writer has flushed them."""
    deadline = time.monotonic() + timeout_s
    items: list = []
    while time.monotonic() < deadline:
        r = client.get(
            "/v1/predictions",
            params={"start": "2020-12-01T00:00:00Z", "end": "2021-01-02T00:00:00Z", "limit": 5000},
        )
        items = [i for i in r.json()["items"] if i["request_id"] == request_id]
        if len(items) >= n:
            return items
        time.sleep(0.2)
    return items
