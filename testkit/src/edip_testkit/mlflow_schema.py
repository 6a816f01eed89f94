"""A fresh MLflow database kept once migrated, so that the tests' MLflow servers start on a copy.

Why: on an empty SQLite file ``mlflow server`` first runs MLflow's schema migrations, about 2.6 of
the ~9 CPU-seconds a server takes to start (psutil, 2026-12-08; 6.4 on a migrated copy), and the
tests and benchmarks start a dozen servers. The first server of a machine migrates for real; its
database, snapshotted right after it answered ``/health`` (nothing in it but what MLflow writes
when it starts), is kept per MLflow version in the temporary directory, and each later server
starts on a copy, which MLflow finds up to date. Still the real server on its own database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import tempfile
from importlib.metadata import version
from pathlib import Path

log = logging.getLogger(__name__)


def template_path() -> Path:
    """The kept database of this MLflow version (shared by every process of the machine)."""
    return Path(tempfile.gettempdir()) / f"edip-mlflow-{version('mlflow')}-fresh.db"


def prepare(db: Path) -> bool:
    """Copy the kept database to ``db`` when ``db`` does not exist yet and one is kept; whether
    it was copied (``False``: the server will create and migrate ``db`` itself)."""
    template = template_path()
    if db.exists() or not template.is_file():
        return False
    shutil.copyfile(template, db)
    return True


def keep(db: Path) -> None:
    """Keep ``db``, just created and migrated by a server, as the template (a consistent
    snapshot through SQLite's backup API, then an atomic rename: a process copying the
    template reads the old file or this one, whole). Only a cache: a failure is logged."""
    template = template_path()
    part = template.with_name(f"{template.name}.{os.getpid()}.part")
    try:
        with (
            contextlib.closing(sqlite3.connect(db)) as src,
            contextlib.closing(sqlite3.connect(part)) as dst,
        ):
            src.backup(dst)
        os.replace(part, template)
    except (OSError, sqlite3.Error) as exc:
        log.warning("MLflow schema template not kept (%s): the next server migrates again", exc)
        part.unlink(missing_ok=True)
