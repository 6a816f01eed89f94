"""Engine set-up: SQLite pragmas, two stores on one file, and the PostgreSQL helper itself."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from edip_api.db import LogStore, PredictionWriter

from ..pg import create_database, drop_database, start_cluster
from .conftest import forecast_records
from .migration_helpers import HEAD


def test_sqlite_runs_in_wal_with_a_busy_timeout(tmp_path: Path) -> None:
    store = LogStore(f"sqlite:///{tmp_path / 'new' / 'dir' / 'log.db'}")  # parents created
    try:
        store.upgrade()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.dispose()


def test_in_memory_sqlite_is_shared_by_threads() -> None:
    store = LogStore("sqlite://")
    store.upgrade()
    writer = PredictionWriter(store, flush_interval_s=0.01)
    writer.start()
    writer.submit(forecast_records("mem"))
    assert writer.flush(timeout_s=30)
    writer.stop()
    assert store.count_predictions() == 24
    store.dispose()


def test_two_workers_write_the_same_database(db_url: str, tmp_path: Path) -> None:
    """Two processes' worth of engines and writers on one database: nothing lost, no lock error."""
    stores = [LogStore(db_url) for _ in range(2)]
    for s in stores:
        s.upgrade()
    writers = [
        PredictionWriter(s, batch_size=48, flush_interval_s=0.01, spill_dir=tmp_path / str(i))
        for i, s in enumerate(stores)
    ]
    for w in writers:
        w.start()

    def work(i: int) -> None:
        for r in range(60):
            writers[i].submit(forecast_records(f"w{i}-{r}"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        for w in writers:
            assert w.flush(timeout_s=60)
            w.stop()
            assert w.failed_batches == 0
        assert stores[0].count_predictions() == 2 * 60 * 24
    finally:
        for s in stores:
            s.dispose()


def test_the_helper_starts_its_own_cluster() -> None:
    """The fall-back path of tests/pg.py, used when nothing answers on 127.0.0.1:5432."""
    started = start_cluster()
    if isinstance(started, str):
        pytest.skip(started)
    try:
        name = create_database(started.server)
        store = LogStore(started.server.url(name))
        store.upgrade()
        assert store.current_revision() == HEAD
        store.dispose()
        drop_database(started.server, name)
    finally:
        started.stop()
    assert not started.data_dir.exists()
