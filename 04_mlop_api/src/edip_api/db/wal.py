"""A write-ahead file of served predictions: what was answered survives a kill -9.

Why: the writer queue lives in memory, so a crash (OOM kill, kill -9, power loss) used to lose
every accepted-but-uncommitted row. Each request's records are appended to a segment file and
``fsync``-ed before the answer leaves (group commit: one ``fsync`` covers every request waiting
for it, so the cost is shared under load). Segments are deleted once the log store committed all
their records; a segment left by a dead process is replayed at the next start (the log's key is
idempotent, so a record both committed and replayed is stored once).

Each live segment holds an exclusive ``flock``: several workers share one directory, and only
segments whose owner died (the kernel released the lock) are ever replayed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from .records import PredictionRecord

logger = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".wal"
#: records per segment before a new one is started (old ones are deleted once committed)
SEGMENT_RECORDS = 20_000
_FIELDS = PredictionRecord.__slots__
_TIMES = frozenset({"origin", "target_time", "created_at"})


def _encode(records: Sequence[PredictionRecord]) -> bytes:
    """One line per request: a JSON list of field-value lists (orjson: fast, aware times)."""
    rows = [[getattr(r, f) for f in _FIELDS] for r in records]
    return orjson.dumps(rows) + b"\n"


def _decode(line: bytes) -> list[PredictionRecord]:
    out = []
    for row in orjson.loads(line):
        values: dict[str, Any] = dict(zip(_FIELDS, row, strict=True))
        for name in _TIMES:
            values[name] = datetime.fromisoformat(values[name])
        out.append(PredictionRecord(**values))
    return out


class WriteAheadLog:
    """Append-and-fsync segments under ``directory`` for one process."""

    def __init__(self, directory: Path, segment_records: int = SEGMENT_RECORDS) -> None:
        self.directory = Path(directory)
        self.segment_records = segment_records
        self._lock = threading.Lock()  # order of appends = order of the writer's queue
        self._sync_lock = threading.Lock()  # one fsync at a time; waiters share its result
        self._fh: IO[bytes] | None = None
        self._path: Path | None = None
        self._records_in_segment = 0
        self._appended = 0  # appends ever made (the sync token)
        self._synced = 0
        self._closed: list[tuple[Path, int]] = []  # (segment, last record sequence)
        self._last_seq = 0
        self._seq_at_open = 0

    # -- writing --------------------------------------------------------------------------------

    def append(self, records: Sequence[PredictionRecord], last_seq: int) -> int:
        """Buffer the records (``last_seq``: the writer's count after them); returns a sync
        token. Call under the writer's lock so segments follow the queue order."""
        data = _encode(records)
        with self._lock:
            if self._fh is None or self._records_in_segment >= self.segment_records:
                self._rotate()
            assert self._fh is not None
            self._fh.write(data)
            self._records_in_segment += len(records)
            self._last_seq = last_seq
            self._appended += 1
            return self._appended

    def sync(self, token: int) -> None:
        """Return once everything appended up to ``token`` is on disk (fsync)."""
        if self._synced >= token:
            return
        with self._sync_lock:
            if self._synced >= token:
                return  # another request's fsync covered this one
            with self._lock:
                fh, target = self._fh, self._appended
                if fh is not None:
                    fh.flush()
            if fh is not None:
                os.fsync(fh.fileno())
            self._synced = target

    def _rotate(self) -> None:
        if self._fh is not None and self._path is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._closed.append((self._path, self._last_seq))
            self._fh.close()  # closing releases the flock: committed-or-not, the file is ours
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        self._path = self.directory / f"predictions-{stamp}-{os.getpid()}{SEGMENT_SUFFIX}"
        self._fh = self._path.open("ab")
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._records_in_segment = 0
        self._seq_at_open = self._last_seq

    def release(self, done_seq: int) -> None:
        """Delete closed segments whose records are all committed (or spilled)."""
        with self._lock:
            keep = []
            for path, last in self._closed:
                if last <= done_seq:
                    path.unlink(missing_ok=True)
                else:
                    keep.append((path, last))
            self._closed = keep
            if (
                self._fh is not None
                and self._last_seq <= done_seq
                and self._records_in_segment >= self.segment_records
            ):
                self._rotate()

    def close(self, *, delete: bool) -> None:
        """At stop: every record is committed or spilled, so the segments may go."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
            paths = [p for p, _ in self._closed] + ([self._path] if self._path else [])
            self._closed, self._path = [], None
        if delete:
            for path in paths:
                path.unlink(missing_ok=True)

    # -- recovery -------------------------------------------------------------------------------

    def orphans(self) -> Iterator[tuple[Path, list[PredictionRecord]]]:
        """Segments of dead processes with their records (a torn last line is skipped).

        The segment stays locked by this process while the caller replays it.
        """
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob(f"*{SEGMENT_SUFFIX}")):
            if path == self._path:
                continue
            try:
                fh = path.open("rb")
            except FileNotFoundError:
                continue
            with fh:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live worker's segment
                if not path.exists():  # replayed and deleted by another worker meanwhile
                    continue
                yield path, _read_segment(path, fh.read())


def _read_segment(path: Path, data: bytes) -> list[PredictionRecord]:
    records: list[PredictionRecord] = []
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.extend(_decode(line))
        except (ValueError, TypeError, KeyError) as exc:
            if i >= len(lines) - 2:  # the last line was being written when the process died
                logger.warning("%s: torn last line skipped (never acknowledged)", path)
                continue
            raise ValueError(f"{path}:{i + 1}: malformed write-ahead line: {exc}") from exc
    return records
