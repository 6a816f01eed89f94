"""kill -9 of a real uvicorn loses no acknowledged prediction row (write-ahead file, replayed),
with the log on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from edip_api.db import LogStore
from edip_testkit.platform import running_api

from .pg import pg_server, pg_url

__all__ = ["pg_server", "pg_url"]


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_acknowledged_rows_survive_kill_9(
    api_env: dict[str, str], tmp_path: Path, log_url: str
) -> None:
    env = {
        **api_env,
        "EDIP_DATABASE_URL": log_url,
        "EDIP_LOG_SPILL_DIR": str(tmp_path / "spill"),
        # nothing reaches the database before the kill: only the write-ahead file can save it
        "EDIP_LOG_BATCH_SIZE": "1000000",
        "EDIP_LOG_FLUSH_INTERVAL_S": "600",
    }
    origins = [f"2020-12-{d:02d}T{h:02d}:00:00+01:00" for d in (14, 15) for h in (6, 12, 18)]
    with running_api(env, log_path=tmp_path / "api-1.log") as api:

        def call(i: int) -> tuple[str, int]:
            r = httpx.get(
                f"{api.url}/v1/forecast",
                params={"origin": origins[i % len(origins)]},
                headers=api.headers,  # key holders' answers are logged
                timeout=60,
            )
            assert r.status_code == 200, r.text
            assert r.json()["logged"] is True
            return r.json()["request_id"], len(r.json()["points"])

        with ThreadPoolExecutor(8) as pool:
            answered = dict(pool.map(call, range(40)))
        os.killpg(api.process.pid, signal.SIGKILL)
        api.process.wait(30)
    assert api.process.returncode == -signal.SIGKILL
    assert list((tmp_path / "spill" / "wal").glob("*.wal")), "the crash left its segment"

    with running_api(env, log_path=tmp_path / "api-2.log") as again:
        assert "recovered" in again.log_text()
        store = LogStore(env["EDIP_DATABASE_URL"])
        try:
            assert set(answered) <= store.request_ids()
            assert store.count_predictions() == sum(answered.values())
        finally:
            store.dispose()
    # the graceful stop committed everything: no segment is left to replay twice
    assert not list((tmp_path / "spill" / "wal").glob("*.wal"))
