"""LogStore: the prediction log on SQLite (WAL, default) or PostgreSQL (``EDIP_DATABASE_URL``).

Every write is one transaction with dialect-specific ``INSERT … ON CONFLICT`` so that retries,
replays and concurrent workers can never duplicate a row or lose a stored actual.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy import ColumnElement, FromClause, create_engine, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from .metrics import MetricsSummary, compute_summary
from .models import actuals_table, predictions_table
from .records import ActualRecord, PredictionRecord

logger = logging.getLogger(__name__)

#: PostgreSQL advisory lock key serialising concurrent ``upgrade()`` calls (ASCII "EDIPLOG1")
_PG_MIGRATION_LOCK = 0x454449504C4F4731
_SQLITE_BUSY_TIMEOUT_MS = 30_000
#: page cache of a log connection (KiB; SQLite keeps 2 MB by default)
_SQLITE_CACHE_KB = 16_384
_MAX_LIMIT = 100_000


def _check_window(start: datetime, end: datetime) -> None:
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be a tz-aware datetime, got {value!r}")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")


def _check_page(limit: int, offset: int) -> None:
    if not 0 <= limit <= _MAX_LIMIT:
        raise ValueError(f"limit must be in [0, {_MAX_LIMIT}], got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")


def parse_model_filter(model: str) -> tuple[str, str | None]:
    """``"name"`` → (name, None); ``"name:version"`` → (name, version); ``"name:"`` → unversioned."""
    if ":" not in model:
        name, version = model, None
    else:
        name, version = model.rsplit(":", 1)
    if not name:
        raise ValueError(
            f"model filter {model!r} has no model name (expected 'name' or 'name:version')"
        )
    return name, version


class LogStore:
    """The prediction/actuals log behind the API; thread-safe, one engine per process."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ValueError(f"invalid database URL {url!r}: {exc}") from exc
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                f"unsupported database {backend!r} in {parsed.render_as_string(hide_password=True)}:"
                " the log store runs on sqlite or postgresql"
            )
        self.url = parsed
        self.dialect = backend
        self._sqlite_path: Path | None = None
        kwargs: dict[str, Any] = {}
        if backend == "sqlite":
            database = parsed.database or ""
            if database in ("", ":memory:") or database.startswith("file:"):
                # one shared in-memory database for every thread (tests, throwaway runs)
                kwargs.update(poolclass=StaticPool)
            else:
                self._sqlite_path = Path(database).expanduser().resolve()
                self._sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {
                "check_same_thread": False,
                "timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000,
            }
        else:
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        self.engine: Engine = create_engine(parsed, **kwargs)
        if backend == "sqlite":
            event.listen(self.engine, "connect", self._on_sqlite_connect)

    def _on_sqlite_connect(self, dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if self._sqlite_path is not None:
                cursor.execute("PRAGMA journal_mode = WAL")
                # a commit is on disk when it returns: the API answers after its batch's commit
                cursor.execute("PRAGMA synchronous = FULL")
                # the indexes' recent pages stay in memory; the write-ahead file is copied
                # back every 10 000 pages (~40 MB), not 1 000: a commit dirties the same index
                # pages as the last, and each checkpoint delays the commit that runs it
                cursor.execute(f"PRAGMA cache_size = -{_SQLITE_CACHE_KB}")
                cursor.execute("PRAGMA wal_autocheckpoint = 10000")
        finally:
            cursor.close()

    def __repr__(self) -> str:
        return f"LogStore({self.url.render_as_string(hide_password=True)!r})"

    # -- schema -------------------------------------------------------------------------------

    def alembic_config(self) -> Config:
        """The packaged Alembic configuration (works from an installed wheel)."""
        ini = files("edip_api.db").joinpath("alembic.ini")
        cfg = Config(str(ini))
        cfg.set_main_option("script_location", str(files("edip_api.db").joinpath("migrations")))
        return cfg

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self._sqlite_path is not None:
            with FileLock(str(self._sqlite_path) + ".migrate.lock", timeout=120):
                yield
        else:
            yield

    def upgrade(self) -> None:
        """Bring the schema to the latest revision; idempotent and safe when workers race."""
        cfg = self.alembic_config()
        with self._migration_lock(), self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # transaction-scoped: released at commit, after the version row is visible
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        logger.info("log store %r at schema head", self)

    def current_revision(self) -> str | None:
        """The Alembic revision stamped in the database (None before the first upgrade)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            logger.warning("log store %r unreachable: %s", self, exc)
            return False
        return True

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def _insert(self, table: Any) -> Any:
        module = postgresql if self.dialect == "postgresql" else sqlite
        return module.insert(table)

    # -- writes -------------------------------------------------------------------------------

    def write_predictions(self, records: Sequence[PredictionRecord]) -> int:
        """Insert the records in one transaction; existing keys are skipped. Returns rows inserted."""
        if not records:
            return 0
        if self.dialect == "sqlite":
            return self._write_predictions_sqlite(records)
        rows = [_as_prediction(r).to_row() for r in records]
        table = predictions_table
        stmt = (
            self._insert(table)
            .on_conflict_do_nothing(index_elements=["request_id", "target_time"])
            .returning(table.c.id)
        )
        with self.engine.begin() as conn:
            inserted = len(conn.execute(stmt, rows).all())
        return inserted

    def _write_predictions_sqlite(self, records: Sequence[PredictionRecord]) -> int:
        """Multi-row INSERTs of plain tuples on the driver's cursor. Not ``executemany``: that
        takes the GIL back from the busy event loop per row, this per statement (much faster)."""
        rows, inserted = _sqlite_rows(records), 0
        with self.engine.begin() as conn:  # the driver's cursor: no execution context per batch
            cursor = conn.connection.cursor()
            try:
                for i in range(0, len(rows), _SQLITE_ROWS_PER_INSERT):
                    chunk = rows[i : i + _SQLITE_ROWS_PER_INSERT]
                    cursor.execute(_sqlite_insert(len(chunk)), list(chain.from_iterable(chunk)))
                    inserted += int(cursor.rowcount)
            finally:
                cursor.close()
        return inserted

    def upsert_actuals(self, records: Sequence[ActualRecord]) -> int:
        """Upsert on timestamp in one transaction; a None never overwrites a stored value.

        Duplicated timestamps within ``records`` are merged first (later non-None values win).
        Returns the number of distinct timestamps upserted.
        """
        if not records:
            return 0
        merged: dict[datetime, dict[str, Any]] = {}
        now = datetime.now(UTC)
        for record in records:
            if not isinstance(record, ActualRecord):
                raise TypeError(f"expected ActualRecord, got {type(record).__name__}")
            row = merged.setdefault(
                record.timestamp,
                {
                    "timestamp": record.timestamp,
                    "consumption_mw": None,
                    "rte_forecast_d1_mw": None,
                    "source": record.source,
                    "updated_at": now,
                },
            )
            row["source"] = record.source
            for name in ("consumption_mw", "rte_forecast_d1_mw"):
                value = getattr(record, name)
                if value is not None:
                    row[name] = value
        table = actuals_table
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["timestamp"],
            set_={
                "consumption_mw": func.coalesce(
                    stmt.excluded.consumption_mw, table.c.consumption_mw
                ),
                "rte_forecast_d1_mw": func.coalesce(
                    stmt.excluded.rte_forecast_d1_mw, table.c.rte_forecast_d1_mw
                ),
                "source": stmt.excluded.source,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        with self.engine.begin() as conn:
            conn.execute(stmt, list(merged.values()))
        return len(merged)

    # -- reads --------------------------------------------------------------------------------

    def list_predictions(
        self,
        start: datetime,
        end: datetime,
        model: str | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> tuple[list[PredictionRecord], int]:
        """Predictions with start ≤ target_time < end, ordered by target_time, origin, request_id.

        ``model`` is ``"name"`` or ``"name:version"`` (``"name:"`` selects the unversioned ones).
        Returns (page, total matching).
        """
        _check_window(start, end)
        _check_page(limit, offset)
        t = predictions_table
        conditions = [t.c.target_time >= start, t.c.target_time < end]
        if model is not None:
            name, version = parse_model_filter(model)
            conditions.append(t.c.model_name == name)
            if version is not None:
                conditions.append(t.c.model_version == version)
        rows, total = self._page(
            t,
            conditions,
            [t.c[name] for name in PredictionRecord.__slots__],
            (t.c.target_time, t.c.origin, t.c.request_id, t.c.id),
            limit,
            offset,
        )
        return [PredictionRecord(**row) for row in rows], total

    def list_actuals(
        self, start: datetime, end: datetime, limit: int = 1000, offset: int = 0
    ) -> tuple[list[ActualRecord], int]:
        """Actuals with start ≤ timestamp < end, ordered by timestamp; returns (page, total)."""
        _check_window(start, end)
        _check_page(limit, offset)
        t = actuals_table
        conditions = [t.c.timestamp >= start, t.c.timestamp < end]
        columns = [t.c.timestamp, t.c.consumption_mw, t.c.rte_forecast_d1_mw, t.c.source]
        rows, total = self._page(t, conditions, columns, (t.c.timestamp,), limit, offset)
        return [ActualRecord(**row) for row in rows], total

    def _page(
        self,
        table: FromClause,
        conditions: Sequence[ColumnElement[bool]],
        columns: Sequence[ColumnElement[Any]],
        order_by: Sequence[ColumnElement[Any]],
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of rows as dicts and the total matching, read in one connection."""
        page = select(*columns).where(*conditions).order_by(*order_by).limit(limit).offset(offset)
        total_query = select(func.count()).select_from(table).where(*conditions)
        with self.engine.connect() as conn:
            total = int(conn.execute(total_query).scalar_one())
            rows = [dict(row) for row in conn.execute(page).mappings()]
        return rows, total

    def count_predictions(self, request_id: str | None = None) -> int:
        """Number of logged points, of one request or in all."""
        t = predictions_table
        query = select(func.count()).select_from(t)
        if request_id is not None:
            query = query.where(t.c.request_id == request_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def prediction_rows(self, request_id: str) -> list[dict[str, Any]]:
        """The logged points of one request (what a reused X-Request-ID is compared with)."""
        t = predictions_table
        cols = (
            t.c.endpoint,
            t.c.model_name,
            t.c.model_version,
            t.c.origin,
            t.c.target_time,
            t.c.p50,
        )
        with self.engine.connect() as conn:
            rows = conn.execute(select(*cols).where(t.c.request_id == request_id)).mappings()
            return [dict(row) for row in rows]

    def request_ids(self) -> set[str]:
        """Every request id in the log (bench and tests: check nothing accepted went missing)."""
        with self.engine.connect() as conn:
            return set(conn.execute(select(predictions_table.c.request_id).distinct()).scalars())

    def metrics_summary(self, start: datetime, end: datetime) -> MetricsSummary:
        """Accuracy of the served day-ahead forecasts against actuals over [start, end)."""
        _check_window(start, end)
        with self.engine.connect() as conn:
            return compute_summary(conn, start, end)


#: the columns of the log, in the order of the tuples of :func:`_sqlite_rows`: the fields a
#: request's copy of a point shares with the cached point first, then the request's own
_OWN_COLUMNS = ("request_id", "latency_ms", "created_at")
_SHARED_COLUMNS = tuple(f.name for f in fields(PredictionRecord) if f.name not in _OWN_COLUMNS)
_SQLITE_COLUMNS = (*_SHARED_COLUMNS, *_OWN_COLUMNS)
_SHARED_VALUES = attrgetter(*_SHARED_COLUMNS)
_OWN_VALUES = attrgetter(*_OWN_COLUMNS)
_SQLITE_INSERT_HEAD = f"INSERT INTO predictions ({', '.join(_SQLITE_COLUMNS)}) VALUES"
_SQLITE_ROW = f"({', '.join('?' * len(_SQLITE_COLUMNS))})"
_SQLITE_ROWS_PER_INSERT = 2000  # × 15 columns: under SQLite's 32766 bound parameters


@lru_cache(maxsize=64)
def _sqlite_insert(n_rows: int) -> str:
    """The INSERT of ``n_rows`` rows (one text per batch size, kept)."""
    values = ", ".join([_SQLITE_ROW] * n_rows)
    return f"{_SQLITE_INSERT_HEAD} {values} ON CONFLICT (request_id, target_time) DO NOTHING"


def _sqlite_rows(records: Sequence[PredictionRecord]) -> list[tuple[Any, ...]]:
    """Plain tuples in ``_SQLITE_COLUMNS`` order. Why the memo: a batch is mostly copies of the
    same cached points, so a row's shared part is converted once per distinct point and batch
    (this runs in the writer thread, holding the GIL the event loop needs)."""
    text: dict[datetime, str] = {}
    shared: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def ts(value: datetime) -> str:
        out = text.get(value)
        if out is None:
            out = text[value] = value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return out

    rows = []
    for record in records:
        if type(record) is not PredictionRecord:
            _as_prediction(record)  # a subclass passes, anything else raises
        key = _SHARED_VALUES(record)
        head = shared.get(key)
        if head is None:
            head = shared[key] = tuple(ts(v) if isinstance(v, datetime) else v for v in key)
        request_id, latency_ms, created_at = _OWN_VALUES(record)
        rows.append((*head, request_id, latency_ms, ts(created_at)))
    return rows


def _as_prediction(record: Any) -> PredictionRecord:
    if not isinstance(record, PredictionRecord):
        raise TypeError(f"expected PredictionRecord, got {type(record).__name__}")
    return record


def default_sqlite_url(data_dir: Path | str) -> str:
    """``sqlite:///<data_dir>/edip_log.db``, the default ``EDIP_DATABASE_URL``."""
    return f"sqlite:///{Path(data_dir).expanduser().resolve() / 'edip_log.db'}"


__all__ = ["LogStore", "default_sqlite_url", "parse_model_filter"]
