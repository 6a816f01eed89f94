"""PredictionWriter: every accepted record ends up in the log, through outages and shutdowns."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from psycopg2 import sql
from sqlalchemy import event, make_url

from edip_api.db import LogStore, PredictionRecord, PredictionWriter, WriterFullError
from edip_api.db.wal import WriteAheadLog

from ..pg import PgServer
from .conftest import ORIGIN, forecast_records


def _wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


@contextmanager
def _database_down(store: LogStore, request: pytest.FixtureRequest) -> Iterator[None]:
    """Take the store's database away for the duration of the block, then bring it back.

    PostgreSQL: the database is renamed (its sessions killed first). SQLite: the directory
    holding the file is renamed, so no connection can open it.
    """
    store.engine.dispose()
    if store.dialect == "sqlite":
        path = Path(store.url.database or "")
        away = path.parent.with_name(path.parent.name + ".away")
        path.parent.rename(away)
        try:
            yield
        finally:
            away.rename(path.parent)
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = store.url.database or ""
    gone = name + "_gone"
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cur.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(name), sql.Identifier(gone)
                )
            )
        try:
            yield
        finally:
            with conn.cursor() as cur:
                cur.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(gone), sql.Identifier(name)
                    )
                )
    finally:
        conn.close()


def test_concurrent_submits_are_all_written(store: LogStore, tmp_path: Path) -> None:
    writer = PredictionWriter(store, batch_size=500, flush_interval_s=0.05, spill_dir=tmp_path)
    writer.start()
    per_thread, threads_n = 40, 8
    ids = [f"t{t}-r{i}" for t in range(threads_n) for i in range(per_thread)]

    def submit(thread: int) -> None:
        for i in range(per_thread):
            origin = ORIGIN + timedelta(hours=i)
            writer.submit(forecast_records(f"t{thread}-r{i}", origin=origin))

    threads = [threading.Thread(target=submit, args=(t,)) for t in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writer.flush(timeout_s=60)
    assert writer.queue_depth == 0
    assert writer.written_total == len(ids) * 24
    assert store.count_predictions() == len(ids) * 24
    assert store.request_ids() == set(ids)
    writer.stop()
    assert writer.spill_files() == []
    assert not tmp_path.exists() or list(tmp_path.glob("*.jsonl")) == []


def test_stop_drains_without_a_flush(store: LogStore, tmp_path: Path) -> None:
    writer = PredictionWriter(store, batch_size=10_000, flush_interval_s=60, spill_dir=tmp_path)
    writer.start()
    writer.submit(forecast_records("a"))
    writer.submit(forecast_records("b"))
    writer.stop(timeout_s=30)
    assert store.count_predictions() == 48
    assert writer.spilled_total == 0
    with pytest.raises(WriterFullError, match="stopped"):
        writer.submit(forecast_records("c"))


def test_full_queue_refuses_records(store: LogStore, tmp_path: Path) -> None:
    writer = PredictionWriter(store, max_queue=48, spill_dir=tmp_path)  # not started: no drain
    writer.submit(forecast_records("a"))
    writer.submit(forecast_records("b"))
    with pytest.raises(WriterFullError, match="queue full"):
        writer.submit(forecast_records("c", horizon=1))
    assert writer.queue_depth == 48
    with pytest.raises(TypeError, match="expected PredictionRecord"):
        writer.submit(["not a record"])  # type: ignore[list-item]
    writer.start()
    assert writer.flush(timeout_s=30)
    writer.submit(forecast_records("c", horizon=1))  # room again
    writer.stop()
    assert store.request_ids() == {"a", "b", "c"}


def test_outage_is_retried_until_the_database_returns(
    store: LogStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    writer = PredictionWriter(store, batch_size=100, flush_interval_s=0.05, spill_dir=tmp_path)
    writer.start()
    writer.submit(forecast_records("before"))
    assert writer.flush(timeout_s=30)
    with _database_down(store, request):
        writer.submit(forecast_records("during"))
        _wait_for(lambda: writer.failed_batches >= 1)
        assert writer.flush(timeout_s=0.2) is False
        assert writer.queue_depth == 24  # kept, not dropped
    assert writer.flush(timeout_s=60)
    writer.stop()
    assert store.request_ids() == {"before", "during"}
    assert store.count_predictions() == 48
    assert writer.spilled_total == 0


def test_outage_at_stop_spills_and_replay_restores(
    store: LogStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    spill = tmp_path / "spill"
    writer = PredictionWriter(store, batch_size=50, flush_interval_s=0.05, spill_dir=spill)
    writer.start()
    logged = forecast_records("logged")
    writer.submit(logged)
    assert writer.flush(timeout_s=30)
    with _database_down(store, request):
        # a client retry re-sends points already logged: they are spilled too, stored once
        writer.submit(logged[:6])
        for i in range(3):
            writer.submit(forecast_records(f"lost-{i}", origin=ORIGIN + timedelta(days=i)))
        _wait_for(lambda: writer.failed_batches >= 1)
        writer.stop(timeout_s=0.5)
        assert writer.queue_depth == 0
        assert writer.spilled_total == 6 + 72
        files = writer.spill_files()
        assert len(files) == 1
        lines = files[0].read_text().splitlines()
        assert len(lines) == 78
        assert PredictionRecord.from_json(json.loads(lines[0])) == logged[0]
    # the next start-up, database healthy again
    revived = LogStore(store.url.render_as_string(hide_password=False))
    try:
        fresh = PredictionWriter(revived, spill_dir=spill)
        assert fresh.replay_spill() == 72
        assert fresh.spill_files() == []
        assert fresh.replay_spill() == 0
        assert revived.count_predictions() == 24 + 72
        assert revived.request_ids() == {"logged", "lost-0", "lost-1", "lost-2"}
    finally:
        revived.dispose()


def test_replay_of_a_corrupt_spill_file_fails_clearly(store: LogStore, tmp_path: Path) -> None:
    good = forecast_records("ok", horizon=2)
    path = tmp_path / "predictions-x.jsonl"
    path.write_text(
        "\n".join(json.dumps(r.to_json()) for r in good) + '\n{"request_id": "broken"}\n'
    )
    writer = PredictionWriter(store, spill_dir=tmp_path)
    with pytest.raises(ValueError, match=r"predictions-x\.jsonl:3: malformed"):
        writer.replay_spill()
    assert path.exists()  # kept for a person to look at
    assert store.count_predictions() == 0


def test_writer_settings_are_checked(store: LogStore) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        PredictionWriter(store, batch_size=0)
    with pytest.raises(ValueError, match="max_queue"):
        PredictionWriter(store, max_queue=0)
    with pytest.raises(ValueError, match="flush_interval_s"):
        PredictionWriter(store, flush_interval_s=0)


def test_url_helper_round_trips(store: LogStore) -> None:
    assert (
        make_url(store.url.render_as_string(hide_password=False)).get_backend_name()
        == store.dialect
    )


def test_stop_without_start_still_writes(store: LogStore, tmp_path: Path) -> None:
    writer = PredictionWriter(store, batch_size=10, spill_dir=tmp_path)
    writer.submit(forecast_records("never-started"))
    writer.stop()
    assert store.count_predictions("never-started") == 24
    assert (writer.written_total, writer.spilled_total, writer.spill_files()) == (24, 0, [])


def test_idle_writer_sleeps(store: LogStore, tmp_path: Path) -> None:
    """An idle writer blocks on its condition instead of polling (no CPU burnt between requests)."""
    writer = PredictionWriter(store, flush_interval_s=0.01, spill_dir=tmp_path)
    writer.start()
    writer.submit(forecast_records("one"))
    assert writer.flush(timeout_s=30)
    # count the writer thread's wake-ups while nothing is submitted
    wakeups = 0
    original = writer._cond.wait

    def counting_wait(timeout: float | None = None) -> bool:
        nonlocal wakeups
        wakeups += 1
        return original(timeout)

    writer._cond.wait = counting_wait  # type: ignore[method-assign]
    time.sleep(0.3)
    assert wakeups <= 1  # 0.3 s idle at a 10 ms interval would be ~30 with polling
    writer._cond.wait = original  # type: ignore[method-assign]
    writer.submit(forecast_records("two"))
    assert writer.flush(timeout_s=30)
    writer.stop()
    assert store.count_predictions() == 48


def test_group_commit_answers_the_requests_that_arrived_together_after_one_commit(
    store: LogStore, tmp_path: Path
) -> None:
    """Durable mode: 20 requests waiting together are written by one commit, before any of them
    is answered, whatever the flush interval says."""
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    writer = PredictionWriter(
        store,
        batch_size=10_000,
        flush_interval_s=600,
        spill_dir=tmp_path / "spill",
        wal=WriteAheadLog(tmp_path / "wal"),
    )

    async def request(i: int) -> int:
        seq = writer.submit(forecast_records(f"r{i}"))
        await writer.until_durable(seq, timeout_s=30)
        return store.count_predictions(request_id=f"r{i}")  # committed before the answer

    async def main() -> list[int]:
        tasks = [asyncio.create_task(request(i)) for i in range(20)]
        await asyncio.sleep(0.05)  # every request submitted and waiting
        assert writer.queue_depth == 20 * 24
        assert not any(task.done() for task in tasks)
        writer.start()
        return await asyncio.gather(*tasks)

    assert asyncio.run(main()) == [24] * 20
    assert len(commits) == 1
    writer.stop()
    assert not list((tmp_path / "wal").glob("*.wal"))  # the database took them: no file


def test_durable_answers_during_an_outage_come_from_the_write_ahead_file(
    store: LogStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    wal_dir = tmp_path / "wal"
    writer = PredictionWriter(
        store, batch_size=100, spill_dir=tmp_path / "spill", wal=WriteAheadLog(wal_dir)
    )
    writer.start()
    writer.wait_durable(writer.submit(forecast_records("before")), timeout_s=30)
    assert store.count_predictions() == 24  # committed before wait_durable returned
    assert not writer.degraded
    with _database_down(store, request):
        # the writer's first failed attempt puts the queued rows in the fsync'd file
        writer.wait_durable(writer.submit(forecast_records("during")), timeout_s=30)
        assert writer.degraded
        [segment] = wal_dir.glob("*.wal")
        assert b'"during"' in segment.read_bytes()
        # while degraded, a submit appends and fsyncs its own rows before returning
        writer.wait_durable(writer.submit(forecast_records("during-2")), timeout_s=0)
        assert b'"during-2"' in segment.read_bytes()
    assert writer.flush(timeout_s=60)
    assert not writer.degraded
    writer.stop()
    assert store.request_ids() == {"before", "during", "during-2"}
    assert store.count_predictions() == 72
    assert not list(wal_dir.glob("*.wal"))


def test_a_stuck_log_refuses_the_answer_after_the_wait(store: LogStore, tmp_path: Path) -> None:
    """Never started (nothing commits) and no file write failed: the wait ends in a 503-able
    error, not an answer without its rows."""
    writer = PredictionWriter(store, spill_dir=tmp_path / "spill", wal=WriteAheadLog(tmp_path))
    seq = writer.submit(forecast_records("stuck"))
    with pytest.raises(WriterFullError, match="not durable"):
        writer.wait_durable(seq, timeout_s=0.1)
    with pytest.raises(WriterFullError, match="not durable"):
        asyncio.run(writer.until_durable(seq, timeout_s=0.1))
    writer.stop()  # written directly at stop
    assert store.count_predictions(request_id="stuck") == 24
