"""Migrations: from empty to head, idempotent, race-safe, and in step with the ORM."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from edip_api.db import LogStore, PredictionRecord
from edip_api.db.models import Base

from .migration_helpers import HEAD, store_at


def _head(store: LogStore) -> str:
    head = ScriptDirectory.from_config(store.alembic_config()).get_current_head()
    assert head is not None
    return head


def test_upgrade_from_empty_creates_the_schema(db_url: str) -> None:
    with store_at(db_url, None) as store:
        assert store.current_revision() is None
        store.upgrade()
        assert store.current_revision() == _head(store) == HEAD
        insp = inspect(store.engine)
        assert {"predictions", "actuals", "alembic_version"} <= set(insp.get_table_names())
        columns = {c["name"] for c in insp.get_columns("predictions")}
        assert columns == {"id", *PredictionRecord.__slots__}  # every record field, plus the key
        assert {c["name"] for c in insp.get_columns("actuals")} == {
            "timestamp",
            "consumption_mw",
            "rte_forecast_d1_mw",
            "source",
            "updated_at",
        }
        assert insp.get_pk_constraint("actuals")["constrained_columns"] == ["timestamp"]
        uniques = insp.get_unique_constraints("predictions")
        assert [u["column_names"] for u in uniques] == [["request_id", "target_time"]]
        indexes = {i["name"]: i["column_names"] for i in insp.get_indexes("predictions")}
        indexes.pop("uq_predictions_request_target", None)  # PostgreSQL lists the key too
        assert indexes == {"ix_predictions_target_time": ["target_time"]}  # 0007: one left


def test_upgrade_is_idempotent(store: LogStore) -> None:
    head = store.current_revision()
    store.upgrade()
    store.upgrade()
    assert store.current_revision() == head
    with store.engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    assert versions == [(head,)]


def test_migrations_match_the_orm(store: LogStore) -> None:
    """A model change without its migration fails here (autogenerate finds nothing to do)."""
    with store.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


def test_two_stores_upgrading_at_once(db_url: str) -> None:
    """Two uvicorn workers start together: both upgrade() calls succeed, schema created once."""
    stores = [LogStore(db_url) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def run(s: LogStore) -> None:
        barrier.wait()
        try:
            s.upgrade()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert errors == []
        assert {s.current_revision() for s in stores} == {HEAD}
    finally:
        for s in stores:
            s.dispose()


def test_two_processes_upgrading_at_once(db_url: str, tmp_path: Path) -> None:
    """Same race across real processes (the file lock / advisory lock, not a Python lock)."""
    script = (
        "import sys\n"
        "from edip_api.db import LogStore\n"
        "s = LogStore(sys.argv[1]); s.upgrade(); print(s.current_revision())\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == HEAD


def test_packaged_alembic_config_points_at_shipped_migrations(tmp_path: Path) -> None:
    with store_at(f"sqlite:///{tmp_path / 'x.db'}", None) as store:
        location = Path(store.alembic_config().get_main_option("script_location") or "")
        assert (location / "env.py").is_file()
        assert (location / "versions" / "0001_initial.py").is_file()
        assert (location / "script.py.mako").is_file()


def test_upgrade_from_the_issuances_revision_keeps_its_rows(db_url: str) -> None:
    """A log store at 0002 (issuances, no explanations) upgrades in place: rows kept."""
    from edip_api.db.explanations import ExplanationRecord, find_explanation, insert_explanation
    from edip_api.db.issuances import list_issuances

    issuance = (  # the table as 0002 made it (no kind yet)
        "INSERT INTO issuances (target_day, status, due_at, late, fallback, points, "
        "gate_checks, created_at, request_id) VALUES ('2020-03-02', 'on_time', "
        "'2020-03-01 11:00:00', false, false, 0, '[]', '2020-03-01 11:00:00', 'i-1')"
    )
    with store_at(db_url, "0002_issuances", issuance) as store:
        assert "explanations" not in inspect(store.engine).get_table_names()
        store.upgrade()
        assert store.current_revision() == HEAD
        assert [r.request_id for r in list_issuances(store)] == ["i-1"]
        due = datetime(2020, 3, 1, 11, tzinfo=UTC)
        insert_explanation(store, ExplanationRecord("i-1", "2020-03-02", due, "gam", "1"))
        found = find_explanation(store, target_day="2020-03-02")
        assert found is not None
        assert found.request_id == "i-1"
        assert found.available


def test_0004_adds_the_variant_keeping_older_rows(db_url: str) -> None:
    """A log at 0003 with a served point: the upgrade adds ``variant``, the old row reads NULL
    (unknown), new rows carry theirs."""
    from .conftest import point

    served = (
        "INSERT INTO predictions (request_id, endpoint, model_name, model_version, "
        "origin, target_time, horizon_h, p50, latency_ms, created_at) VALUES "
        "('old', 'forecast', 'lightgbm', '1', '2020-03-01 11:00:00', "
        "'2020-03-01 12:00:00', 1.0, 60000.0, 5.0, '2020-03-01 11:00:01')"
    )
    with store_at(db_url, "0003_explanations", served) as store:
        store.upgrade()
        assert store.current_revision() == HEAD
        origin = datetime(2020, 3, 1, 11, tzinfo=UTC)
        new = point("new", ("combination_rte", "2"), origin, origin.replace(hour=13), 61000.0)
        store.write_predictions([replace(new, variant="with_rte")])
        rows, _ = store.list_predictions(origin.replace(hour=0), origin.replace(hour=23))
        assert {r.request_id: r.variant for r in rows} == {"old": None, "new": "with_rte"}


def test_upgrade_keeps_earlier_issuances_as_day_ahead(db_url: str) -> None:
    """A log store at 0004 with an issuance upgrades to head: the row is a day-ahead one, and
    an intraday re-issue of the same day can then be written beside it."""
    from edip_api.db.issuances import IssuanceRecord, insert_issuance, list_issuances

    issuance = (
        "INSERT INTO issuances (target_day, status, due_at, late, fallback, points,"
        " gate_checks, created_at) VALUES ('2020-11-03', 'on_time', :t, false,"
        " false, 24, '[]', :t)"
    )
    due = datetime(2020, 11, 2, 11)
    with store_at(db_url, "0004_prediction_variant", issuance, t=due) as store:
        store.upgrade()
        assert store.current_revision() == HEAD
        [old] = list_issuances(store)
        assert (old.target_day, old.kind, old.lead_h) == ("2020-11-03", "day-ahead", None)
        at = datetime(2020, 11, 3, 8, tzinfo=UTC)
        reissue = IssuanceRecord(target_day="2020-11-03", status="on_time", due_at=at,
                                 kind="intraday D 09:00", lead_h=-8.0)  # fmt: skip
        assert insert_issuance(store, reissue)[1]
        assert len(list_issuances(store, kind=None)) == 2


def test_0006_adds_the_online_states_keeping_issuances(db_url: str) -> None:
    """A log store at 0005 with an issuance upgrades to head: the row is kept and the loop's
    online states can then be stored, one per day, the newest found first."""
    from edip_api.db.issuances import IssuanceRecord, insert_issuance, list_issuances
    from edip_api.db.online_states import (
        OnlineStateRecord,
        find_online_state,
        insert_online_state,
    )

    with store_at(db_url, "0005_issuance_kinds") as store:
        assert "online_states" not in inspect(store.engine).get_table_names()
        due = datetime(2020, 11, 2, 11, tzinfo=UTC)
        assert insert_issuance(store, IssuanceRecord("2020-11-03", "on_time", due))[1]
        store.upgrade()
        assert store.current_revision() == HEAD
        assert [r.target_day for r in list_issuances(store)] == ["2020-11-03"]
        for day in ("2020-11-02", "2020-11-03"):
            state = {"kind": "kalman", "theta": [1.0], "last_day": day}
            assert insert_online_state(store, OnlineStateRecord("m", "3", day, state))
        again = OnlineStateRecord("m", "3", "2020-11-03", {"kind": "kalman", "theta": [9.0]})
        assert not insert_online_state(store, again)  # written once, never replaced
        newest = find_online_state(store, "m", "3")
        assert newest is not None
        assert (newest.day, newest.state["theta"]) == ("2020-11-03", [1.0])
        older = find_online_state(store, "m", "3", "2020-11-02")
        assert older is not None
        assert older.state["last_day"] == "2020-11-02"
        assert find_online_state(store, "m", "4") is None


def test_0007_drops_the_model_index_and_downgrade_restores_it(db_url: str) -> None:
    """0006 → head keeps the logged rows and one index on target_time; back to 0006 restores
    the composite (model_name, model_version, target_time)."""
    row = (
        "INSERT INTO predictions (request_id, endpoint, model_name, model_version, origin, "
        "target_time, horizon_h, p50, latency_ms, created_at) VALUES "
        "('r', 'forecast', 'm', '1', :t, :t, 0, 1.0, 1.0, :t)"
    )
    t = datetime(2020, 3, 1, tzinfo=UTC)
    with store_at(db_url, "0006_online_states", row, t=t) as store:

        def indexes() -> dict[str, list[str | None]]:
            got = inspect(store.engine).get_indexes("predictions")
            return {i["name"]: i["column_names"] for i in got if str(i["name"]).startswith("ix_")}

        assert "ix_predictions_model_target" in indexes()
        store.upgrade()
        assert store.current_revision() == HEAD
        assert indexes() == {"ix_predictions_target_time": ["target_time"]}
        assert store.count_predictions("r") == 1
        cfg = store.alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0006_online_states")
        assert indexes()["ix_predictions_model_target"] == [
            "model_name",
            "model_version",
            "target_time",
        ]
        assert store.count_predictions("r") == 1
