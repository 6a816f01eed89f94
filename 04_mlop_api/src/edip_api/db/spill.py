"""Spill files: what the prediction writer could not commit at stop, replayed at the next start.

Why its own module: the writer's job is the queue and its thread; the spill is a file format
(JSONL of :class:`PredictionRecord`, fsync'd) with its own claim-by-rename replay protocol, shared
with the write-ahead-log recovery (both re-insert records idempotently into the log store).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from .log_store import LogStore
from .records import PredictionRecord
from .wal import WriteAheadLog

logger = logging.getLogger(__name__)

SPILL_SUFFIX = ".jsonl"
_CLAIM_SUFFIX = ".replaying"
_REPLAY_BATCH = 5000


def default_spill_dir() -> Path:
    """Where records go when no ``spill_dir`` is given (the API always passes one)."""
    return Path(tempfile.gettempdir()) / "edip_log_spill"


def write_spill(spill_dir: Path, records: Sequence[PredictionRecord]) -> Path:
    """Append ``records`` to a new fsync'd spill file of this process; returns its path."""
    spill_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = spill_dir / f"predictions-{stamp}-{os.getpid()}{SPILL_SUFFIX}"
    with path.open("a", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record.to_json(), separators=(",", ":")) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return path


def spill_files(spill_dir: Path) -> list[Path]:
    """Spill files waiting for a replay."""
    if not spill_dir.is_dir():
        return []
    return sorted(spill_dir.glob(f"*{SPILL_SUFFIX}"))


def replay_spill(store: LogStore, spill_dir: Path) -> int:
    """Re-insert every spilled record (idempotent) and delete the files; returns rows inserted.

    Each file is first claimed by an atomic rename, so two workers starting together never
    both replay it. A file that fails (database down) gets its name back and raises; a
    malformed line raises ValueError naming the file and line, leaving the file in place.
    """
    inserted = 0
    for path in spill_files(spill_dir):
        claimed = path.with_name(f"{path.name}.{os.getpid()}{_CLAIM_SUFFIX}")
        try:
            path.rename(claimed)
        except FileNotFoundError:  # another worker claimed it
            continue
        try:
            inserted += _replay_file(store, claimed, path)
        except BaseException:
            claimed.rename(path)
            raise
        claimed.unlink()
        logger.info("prediction log: replayed spill file %s", path)
    return inserted


def replay_wal(store: LogStore, wal: WriteAheadLog) -> int:
    """Re-insert the write-ahead segments of dead processes (kill -9); returns rows inserted.

    A segment is deleted only after its records are committed; a database error leaves it
    for the next start.
    """
    inserted = 0
    for path, records in wal.orphans():
        for i in range(0, len(records), _REPLAY_BATCH):
            inserted += store.write_predictions(records[i : i + _REPLAY_BATCH])
        path.unlink(missing_ok=True)
        logger.info("prediction log: recovered %d records from %s", len(records), path)
    return inserted


def _replay_file(store: LogStore, claimed: Path, original: Path) -> int:
    inserted = 0
    batch: list[PredictionRecord] = []
    with claimed.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                batch.append(PredictionRecord.from_json(json.loads(line)))
            except (ValueError, TypeError, KeyError) as exc:
                raise ValueError(f"{original}:{line_no}: malformed spilled record: {exc}") from exc
            if len(batch) >= _REPLAY_BATCH:
                inserted += store.write_predictions(batch)
                batch = []
    if batch:
        inserted += store.write_predictions(batch)
    return inserted
