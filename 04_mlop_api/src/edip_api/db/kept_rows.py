"""Rows written once, never replaced: the issuances, explanations and online states.

Why one set of helpers: each of these tables keeps the first row of its key (a re-run slot, a
restarted worker or a repeated post can neither replace nor duplicate it), on SQLite and
PostgreSQL alike, tells the caller whether its row was the one written, and is read back by day
(optionally by other columns), newest first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from sqlalchemy import Connection, FromClause, RowMapping, select


class JsonListRecord:
    """A dataclass record with one field of JSON-able dicts (``JSON_FIELD``) kept as JSON text,
    and a ``created_at`` that defaults to the time it is written."""

    JSON_FIELD: ClassVar[str]
    #: how a value JSON cannot encode is written (``None``: it raises)
    JSON_DEFAULT: ClassVar[Callable[[Any], Any] | None] = None

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)  # type: ignore[call-overload]
        row[self.JSON_FIELD] = json.dumps(row[self.JSON_FIELD], default=type(self).JSON_DEFAULT)
        row["created_at"] = row["created_at"] or datetime.now(UTC)
        return row

    @classmethod
    def from_row(cls, row: Any) -> Self:
        values = dict(row)
        values[cls.JSON_FIELD] = json.loads(values.get(cls.JSON_FIELD) or "[]")
        return cls(**values)


def insert_once(
    conn: Connection, log_store: Any, table: FromClause, row: Mapping[str, Any], key: Sequence[str]
) -> bool:
    """Insert ``row`` unless a row with its ``key`` columns exists; whether it was written."""
    stmt = (
        log_store._insert(table)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(table.c[key[0]])
    )
    return len(conn.execute(stmt, [dict(row)]).all()) == 1


def insert_and_read(
    log_store: Any, table: FromClause, row: Mapping[str, Any], key: Sequence[str]
) -> tuple[RowMapping, bool]:
    """:func:`insert_once`, then the stored row of that key (``row`` or the earlier one), in
    one transaction; returns (stored row, written)."""
    with log_store.engine.begin() as conn:
        created = insert_once(conn, log_store, table, row, key)
        where = [table.c[name] == row[name] for name in key]
        stored = conn.execute(select(table).where(*where)).mappings().one()
    return stored, created


def read_rows(
    log_store: Any,
    table: FromClause,
    order_by: Sequence[Any],
    limit: int,
    *,
    first_day: str | None = None,
    last_day: str | None = None,
    **equal: Any,
) -> list[RowMapping]:
    """The rows, in ``order_by``, at most ``limit``, with first_day ≤ ``target_day`` ≤ last_day
    and each column of ``equal`` equal to its value; a ``None`` bound or value filters nothing."""
    query = select(table).order_by(*order_by).limit(limit)
    for name, value in equal.items():
        if value is not None:
            query = query.where(table.c[name] == value)
    if first_day is not None:
        query = query.where(table.c.target_day >= first_day)
    if last_day is not None:
        query = query.where(table.c.target_day <= last_day)
    with log_store.engine.connect() as conn:
        return list(conn.execute(query).mappings())
