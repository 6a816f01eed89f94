"""A stop with the database down fits EDIP_SHUTDOWN_BUDGET_S, and spills every accepted row."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from edip_api.core.config import Settings
from edip_testkit.platform import free_port, running_api


def test_default_budget_fits_a_30s_grace_period() -> None:
    s = Settings()
    assert s.shutdown_budget_s <= 25
    assert s.graceful_requests_s + s.writer_drain_s + 3 <= s.shutdown_budget_s


def test_stop_with_the_database_down_fits_the_budget(
    api_env: dict[str, str], tmp_path: Path
) -> None:
    budget = 8
    env = {
        **api_env,
        # nothing listens there: every write fails and is retried until the stop
        "EDIP_DATABASE_URL": f"postgresql+psycopg2://edip@127.0.0.1:{free_port()}/edip",
        "EDIP_LOG_SPILL_DIR": str(tmp_path / "spill"),
        "EDIP_SHUTDOWN_BUDGET_S": str(budget),
    }
    with running_api(env, log_path=tmp_path / "api.log", require_ready=False) as api:
        ids = []
        for origin in ("2020-12-14T12:00:00+01:00", "2020-12-15T12:00:00+01:00"):
            r = httpx.get(f"{api.url}/v1/forecast", params={"origin": origin}, timeout=60)
            assert r.status_code == 200, r.text
            ids.append(r.json()["request_id"])
        time.sleep(1.0)  # the writer is now retrying against the dead database
        t0 = time.monotonic()
        api.stop()
        elapsed = time.monotonic() - t0
    # the old stop waited 30 s for the queue, then 5 s more (the issue measured 37 s)
    assert elapsed < budget + 3, f"stop took {elapsed:.1f}s for a {budget}s budget"
    spilled = [
        json.loads(line)["request_id"]
        for path in (tmp_path / "spill").glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert set(ids) <= set(spilled)
    assert len(spilled) == 48
