"""Every read of the prediction log searches an index (migration 0007 left one on target_time).

Why SQLite only: it is the store the request path commits to, and its plans are stable text;
the statements are the ones the real functions send, captured on the engine, then explained.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from edip_api.db import LogStore
from edip_api.db.issuances import IssuanceRecord, insert_issuance
from edip_api.db.issued import issued_points

from .conftest import ORIGIN, forecast_records

START = ORIGIN
END = ORIGIN + timedelta(days=3)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[LogStore]:
    """A migrated SQLite log store holding two models' forecasts and one issuance."""
    store = LogStore(f"sqlite:///{tmp_path / 'edip_log.db'}")
    store.upgrade()
    store.write_predictions(forecast_records("r1") + forecast_records("r2", model=("ridge", "")))
    due = datetime(2020, 3, 1, 11, tzinfo=UTC)
    insert_issuance(
        store, IssuanceRecord("2020-03-02", "on_time", due, issued_at=due, request_id="r1")
    )
    yield store
    store.dispose()


def _plans(store: LogStore, call: Any) -> list[list[str]]:
    """The query plans of the statements on ``predictions`` that ``call()`` sends."""
    sent: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if re.search(r"\bpredictions\b", statement) and statement.lstrip().startswith("SELECT"):
            sent.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    with store.engine.connect() as conn:
        return [
            [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
            for sql, params in sent
        ]


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s: s.list_predictions(START, END), id="log"),
        pytest.param(lambda s: s.list_predictions(START, END, model="ridge"), id="log-model"),
        pytest.param(lambda s: s.list_predictions(START, END, model="lightgbm:3"), id="log-ver"),
        pytest.param(lambda s: s.metrics_summary(START, END), id="metrics"),
        pytest.param(lambda s: issued_points(s, START, END), id="issued"),
        pytest.param(lambda s: s.count_predictions("r1"), id="count-request"),
        pytest.param(lambda s: s.prediction_rows("r1"), id="request-rows"),
    ],
)
def test_reads_of_the_log_search_an_index(sqlite_store: LogStore, call: Any) -> None:
    plans = _plans(sqlite_store, lambda: call(sqlite_store))
    assert plans, "no statement on predictions was sent"
    for plan in plans:
        on_log = [line for line in plan if re.search(r"\bpredictions\b", line)]
        assert on_log, plan
        for line in on_log:  # a search through an index, never a walk of the table
            assert line.startswith("SEARCH predictions USING "), plan
            assert "INDEX" in line, plan
