"""What the migration tests share: the head revision and a log store left at an older one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from sqlalchemy import text

from edip_api.db import LogStore

#: the newest migration (a new one changes this line, and the tests then check it)
HEAD = "0007_drop_model_target_index"


@contextmanager
def store_at(db_url: str, revision: str | None, *rows: str, **params: Any) -> Iterator[LogStore]:
    """A log store on ``db_url`` migrated up to ``revision`` only (as an older release left it;
    ``None``: not at all), holding ``rows``: SQL inserts written as that revision's schema stood
    (``:name`` binds ``params``). Disposed afterwards."""
    store = LogStore(db_url)
    try:
        if revision is not None:
            cfg = store.alembic_config()
            with store.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        with store.engine.begin() as conn:
            for row in rows:
                conn.execute(text(row), params)
        yield store
    finally:
        store.dispose()
