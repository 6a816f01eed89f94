"""kill -9 of a real uvicorn loses no acknowledged prediction row, with the log on SQLite and on
PostgreSQL: an answer leaves only once its batch is committed (group commit), or, while the
database is down, once its rows are in the fsync'd write-ahead file (replayed at the next start)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg2
import pytest
from psycopg2 import sql
from sqlalchemy import make_url

from edip_api.db import LogStore
from edip_testkit.platform import RunningApi, running_api

from .pg import PgServer, pg_server, pg_url

__all__ = ["pg_server", "pg_url"]

ORIGINS = [f"2020-12-{d:02d}T{h:02d}:00:00+01:00" for d in (14, 15) for h in (6, 12, 18)]


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.db'}"
    return str(request.getfixturevalue("pg_url"))


def _env(api_env: dict[str, str], tmp_path: Path, log_url: str) -> dict[str, str]:
    return {
        **api_env,
        "EDIP_DATABASE_URL": log_url,
        "EDIP_LOG_SPILL_DIR": str(tmp_path / "spill"),
        # a batch and an interval that would keep rows queued for minutes: the answers
        # still wait for their group's commit, whatever they say
        "EDIP_LOG_BATCH_SIZE": "1000000",
        "EDIP_LOG_FLUSH_INTERVAL_S": "600",
    }


def _answer_then_kill(api: RunningApi, n: int = 40) -> dict[str, int]:
    """``n`` logged forecasts from 8 clients, then kill -9: {request id: points}."""

    def call(i: int) -> tuple[str, int]:
        r = httpx.get(
            f"{api.url}/v1/forecast",
            params={"origin": ORIGINS[i % len(ORIGINS)]},
            headers=api.headers,  # key holders' answers are logged
            timeout=60,
        )
        assert r.status_code == 200, r.text
        assert r.json()["logged"] is True
        return r.json()["request_id"], len(r.json()["points"])

    with ThreadPoolExecutor(8) as pool:
        answered = dict(pool.map(call, range(n)))
    os.killpg(api.process.pid, signal.SIGKILL)
    api.process.wait(30)
    assert api.process.returncode == -signal.SIGKILL
    return answered


def _logged(url: str) -> tuple[set[str], int]:
    store = LogStore(url)
    try:
        return store.request_ids(), store.count_predictions()
    finally:
        store.dispose()


def test_acknowledged_rows_survive_kill_9(
    api_env: dict[str, str], tmp_path: Path, log_url: str
) -> None:
    env = _env(api_env, tmp_path, log_url)
    with running_api(env, log_path=tmp_path / "api-1.log") as api:
        answered = _answer_then_kill(api)
    # committed before each answer left: in the database already, nothing to replay
    ids, rows = _logged(log_url)
    assert set(answered) <= ids
    assert rows == sum(answered.values())
    assert not list((tmp_path / "spill" / "wal").glob("*.wal"))
    with running_api(env, log_path=tmp_path / "api-2.log"):
        assert _logged(log_url) == (ids, rows)


@contextmanager
def _renamed(server: PgServer, name: str) -> Iterator[None]:
    """The database away (its sessions killed first) for the block: every write fails."""
    conn = server.connect()
    try:
        for attempt in range(20):  # the API may reconnect between the kill and the rename
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
                try:
                    rename = sql.SQL("ALTER DATABASE {} RENAME TO {}")
                    cur.execute(rename.format(sql.Identifier(name), sql.Identifier(name + "_gone")))
                    break
                except psycopg2.errors.ObjectInUse:
                    if attempt == 19:
                        raise
                    time.sleep(0.1)
        try:
            yield
        finally:
            with conn.cursor() as cur:
                cur.execute(rename.format(sql.Identifier(name + "_gone"), sql.Identifier(name)))
    finally:
        conn.close()


def test_answers_during_an_outage_survive_kill_9(
    api_env: dict[str, str], tmp_path: Path, pg_url: str, pg_server: PgServer
) -> None:
    """The database refuses the rows: they are fsync'd to the write-ahead file before the answer,
    and the next start (database back) recovers them."""
    env = _env(api_env, tmp_path, pg_url)
    name = make_url(pg_url).database or ""
    with running_api(env, log_path=tmp_path / "api-1.log") as api, _renamed(pg_server, name):
        answered = _answer_then_kill(api)
        assert list((tmp_path / "spill" / "wal").glob("*.wal")), "the crash left its segment"
    assert not set(answered) & _logged(pg_url)[0]  # none reached the database
    with running_api(env, log_path=tmp_path / "api-2.log") as again:
        assert "recovered" in again.log_text()
        ids, rows = _logged(pg_url)
        assert set(answered) <= ids
        assert rows == sum(answered.values())
    # the graceful stop committed everything: no segment is left to replay twice
    assert not list((tmp_path / "spill" / "wal").glob("*.wal"))
