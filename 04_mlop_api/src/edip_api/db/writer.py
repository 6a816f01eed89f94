"""PredictionWriter: logs served points, one commit for the requests that arrived together.

Requests append to an in-memory queue (``submit`` returns their sequence number); a daemon thread
drains it in batches, one ``LogStore.write_predictions`` transaction each; records leave the queue
only once committed. Durable mode (a write-ahead file given, ``EDIP_LOG_WAL``) is a group commit:
the thread writes as soon as records wait (what arrived during a commit is the next batch) and a
request answers once its records are durable (``until_durable``/``wait_durable``): committed or,
while the database refuses them, in the ``fsync``-ed write-ahead file replayed after a kill -9.
Otherwise records wait up to ``flush_interval_s`` for a batch and answers do not wait for them.
A failed write is retried with exponential backoff (tenacity) as long as the process runs; at
``stop`` what still cannot be written goes to a JSONL spill file that ``replay_spill`` re-inserts
at the next start-up (:mod:`.spill`). Keys are idempotent: a record both written and spilled (a
commit whose connection died) is stored once.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_when_event_set,
    wait_exponential,
    wait_random,
)

from .group_commit import DurableWaiters, until_resolved, wake
from .log_store import LogStore
from .records import PredictionRecord
from .spill import default_spill_dir, replay_spill, replay_wal, spill_files, write_spill
from .wal import WriteAheadLog

logger = logging.getLogger(__name__)

#: longest pause between two rounds of write attempts while the database is down
_MAX_BACKOFF_S = 5.0
#: part of stop()'s timeout left for the thread to give up a retry once told to abort
_ABORT_GRACE_S = 2.0
#: longest wait of a request for its records' durability before it is refused (503)
DURABLE_WAIT_S = 30.0


class WriterFullError(RuntimeError):
    """The queue cannot take the records (full, or the writer is stopped): answer 503."""


class PredictionWriter:
    """Batched writer off the request path: a daemon thread drains a queue into LogStore.write_predictions."""

    def __init__(
        self,
        store: LogStore,
        *,
        batch_size: int = 500,
        flush_interval_s: float = 0.2,
        max_queue: int = 200_000,
        spill_dir: Path | None = None,
        wal: WriteAheadLog | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if flush_interval_s <= 0:
            raise ValueError(f"flush_interval_s must be > 0, got {flush_interval_s}")
        if max_queue < 1:
            raise ValueError(f"max_queue must be >= 1, got {max_queue}")
        self.store = store
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_queue = max_queue
        self.spill_dir = Path(spill_dir) if spill_dir is not None else default_spill_dir()
        self.wal = wal
        self._queue: deque[PredictionRecord] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False  # no more submits; drain then exit
        self._abort = threading.Event()  # give up writing: stop() ran out of time
        self._flush_requested = False
        self._submitted = 0  # records ever accepted
        self._done = 0  # records that left the queue (committed or spilled)
        self._written = 0  # records committed to the database
        self._spilled = 0
        self._failed_batches = 0
        self._closed = False  # the queue was spilled: the thread must not touch it any more
        self._wal_seq = 0  # records appended to the write-ahead file (a prefix of the queue)
        self._wal_synced = 0  # ... and fsync-ed there
        self._degraded = False  # the last write failed: submits append to the file themselves
        self._waiters = DurableWaiters()

    # -- counters -----------------------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        """Records accepted but not yet committed (nor spilled)."""
        with self._cond:
            return len(self._queue)

    @property
    def written_total(self) -> int:
        """Records committed by this writer (a duplicate key counts: it is stored)."""
        with self._cond:
            return self._written

    @property
    def failed_batches(self) -> int:
        """Batch writes that failed after their retries (each is tried again, never dropped)."""
        with self._cond:
            return self._failed_batches

    @property
    def spilled_total(self) -> int:
        """Records this writer appended to the spill file at stop."""
        with self._cond:
            return self._spilled

    @property
    def degraded(self) -> bool:
        """The last write failed: a submit appends and fsyncs the write-ahead file itself."""
        return self.wal is not None and self._degraded

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        with self._cond:
            if self._stopping:
                raise RuntimeError("a stopped PredictionWriter cannot be restarted; make a new one")
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="edip-log-writer", daemon=True)
            self._thread.start()
        atexit.register(self._stop_at_exit)

    def submit(self, records: Sequence[PredictionRecord]) -> int:
        """Queue records without blocking (WriterFullError when they do not fit, or stopped);
        returns the sequence number ``until_durable``/``wait_durable`` waits for."""
        for record in records:
            if not isinstance(record, PredictionRecord):
                raise TypeError(f"expected PredictionRecord, got {type(record).__name__}")
        with self._cond:
            if self._stopping:
                raise WriterFullError("the prediction log writer is stopped")
            if len(self._queue) + len(records) > self.max_queue:
                raise WriterFullError(
                    f"prediction log queue full ({len(self._queue)} queued, max {self.max_queue})"
                )
            seq = self._submitted + len(records)
            token = 0
            if self.wal is not None and self._degraded:  # the database refuses: the file
                try:
                    token = self.wal.append(records, seq)
                except OSError as exc:
                    raise WriterFullError(f"prediction write-ahead file failed: {exc}") from exc
                self._wal_seq = seq
            was_empty = not self._queue
            self._queue.extend(records)
            self._submitted = seq
            if self.wal is not None or was_empty or len(self._queue) >= self.batch_size:
                self._cond.notify_all()  # group commit, flush interval, or a full batch now
        if token:  # durable in the file before the caller answers (fsyncs are shared)
            try:
                self.wal.sync(token)  # type: ignore[union-attr]
            except OSError as exc:
                raise WriterFullError(f"prediction write-ahead file failed: {exc}") from exc
            with self._cond:
                self._wal_synced = max(self._wal_synced, seq)
                self._advance()
        return seq

    def _durable(self, seq: int) -> bool:
        """Committed, spilled (an fsync-ed file) or in the fsync-ed write-ahead file."""
        return self.wal is None or seq <= max(self._done, self._wal_synced)

    def _advance(self) -> None:
        """Wake the waiters the durable prefix now covers (call under the lock)."""
        self._cond.notify_all()
        if self._waiters:
            wake(self._waiters.pop_ready(max(self._done, self._wal_synced)))

    def wait_durable(self, seq: int, timeout_s: float = DURABLE_WAIT_S) -> None:
        """Block until the first ``seq`` records are durable; WriterFullError past the timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not self._durable(seq):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WriterFullError(f"prediction log not durable within {timeout_s:.0f} s")
                self._cond.wait(remaining)

    async def until_durable(self, seq: int, timeout_s: float = DURABLE_WAIT_S) -> None:
        """Await the durability of the first ``seq`` records (no thread blocked meanwhile)."""
        with self._cond:
            if self._durable(seq):
                return
            future = self._waiters.add(seq, asyncio.get_running_loop())
        late = WriterFullError(f"prediction log not durable within {timeout_s:.0f} s")
        await until_resolved(future, timeout_s, late)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Write now; True when everything submitted before the call is committed."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            target = self._submitted
            if not self.running:
                return not self._queue and self._spilled == 0
            self._flush_requested = True
            self._cond.notify_all()
            while self._done < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.running:
                    return False
                self._cond.wait(remaining)
            return self._spilled == 0

    def stop(self, timeout_s: float = 30.0) -> None:
        """Drain the queue, spill what is left (database down) to JSONL, all within ``timeout_s``
        (plus the spill's own write): the API's shutdown budget depends on it."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            # the whole stop fits in timeout_s: drain, then a short grace for the thread to leave
            grace = min(_ABORT_GRACE_S, max(timeout_s, 0.0) / 4)
            thread.join(max(timeout_s - grace, 0.0))
            if thread.is_alive():
                self._abort.set()
                with self._cond:
                    self._cond.notify_all()
                thread.join(grace)
                if thread.is_alive():
                    logger.error("log writer thread stuck in a database call; spilling its queue")
        with self._cond:
            self._closed = True
            remaining = list(self._queue)
            self._queue.clear()
        if thread is None and remaining:  # never started: one direct attempt before spilling
            remaining = self._write_directly(remaining)
        if remaining:
            path = write_spill(self.spill_dir, remaining)
            with self._cond:
                self._spilled += len(remaining)
                self._done += len(remaining)
                self._advance()
            logger.error(
                "prediction log: %d records could not be written; spilled to %s (replayed at start-up)",
                len(remaining),
                path,
            )
        if self.wal is not None:  # every record is committed or in the fsync'd spill file
            self.wal.close(delete=True)
        atexit.unregister(self._stop_at_exit)

    def _write_directly(self, records: list[PredictionRecord]) -> list[PredictionRecord]:
        """Write in batches on the caller's thread; returns what could not be written."""
        for i in range(0, len(records), self.batch_size):
            batch = records[i : i + self.batch_size]
            try:
                self.store.write_predictions(batch)
            except Exception as exc:
                logger.warning("prediction log write failed at stop: %s", exc)
                return records[i:]
            with self._cond:
                self._written += len(batch)
                self._done += len(batch)
                self._advance()
        return []

    def _stop_at_exit(self) -> None:
        if not self._closed:
            self.stop(timeout_s=10.0)

    # -- the writer thread --------------------------------------------------------------------

    def _next_batch(self) -> list[PredictionRecord]:
        """Wait for a full batch, the flush interval, a flush or stop; [] means exit."""
        with self._cond:
            deadline = time.monotonic() + self.flush_interval_s
            while True:
                if self._abort.is_set() or self._closed:
                    return []
                ready = (
                    len(self._queue) >= self.batch_size
                    or (self.wal is not None and self._queue)  # group commit: write now
                    or self._flush_requested
                    or self._stopping
                    or (self._queue and time.monotonic() >= deadline)
                )
                if ready:
                    if not self._queue:
                        self._flush_requested = False
                        if self._stopping:
                            return []
                        deadline = time.monotonic() + self.flush_interval_s
                        continue
                    return list(itertools.islice(self._queue, self.batch_size))
                if not self._queue:  # idle: sleep until a submit, flush or stop
                    self._cond.wait()
                    deadline = time.monotonic() + self.flush_interval_s
                else:
                    self._cond.wait(max(deadline - time.monotonic(), 0.001))

    def _run(self) -> None:
        consecutive_failures = 0
        while True:
            batch = self._next_batch()
            if not batch:
                return
            try:
                self._write_with_retry(batch)
            except Exception as exc:  # keep the thread alive whatever the driver raises
                self._fall_back_to_wal()
                consecutive_failures += 1
                with self._cond:
                    self._failed_batches += 1
                    depth = len(self._queue)
                logger.warning(
                    "prediction log write failed (%s: %s); %d records kept queued, retrying",
                    type(exc).__name__,
                    exc,
                    depth,
                )
                pause = min(_MAX_BACKOFF_S, 0.1 * 2**consecutive_failures)
                if self._abort.wait(pause):
                    return
                continue
            consecutive_failures = 0
            with self._cond:
                if self._closed:  # stop() spilled the queue meanwhile: replay is idempotent
                    return
                for _ in batch:
                    self._queue.popleft()
                self._written += len(batch)
                self._done += len(batch)
                self._degraded = False
                done = self._done
                if not self._queue:
                    self._flush_requested = False
                self._advance()
            if self.wal is not None:
                self.wal.release(done)

    def _write_with_retry(self, batch: list[PredictionRecord]) -> None:
        retrying = Retrying(
            retry=retry_if_exception_type(Exception),
            stop=stop_after_attempt(4) | stop_when_event_set(self._abort),
            wait=wait_exponential(multiplier=0.05, max=1.0) + wait_random(0, 0.05),
            sleep=self._sleep,
            before_sleep=self._on_retry,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self.store.write_predictions(batch)

    def _sleep(self, seconds: float) -> None:
        self._abort.wait(seconds)

    def _on_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        logger.info("prediction log write attempt %d failed: %s", state.attempt_number, exc)
        self._fall_back_to_wal()  # the waiting requests must not wait for the retries

    def _fall_back_to_wal(self) -> None:
        """The database refused a batch: make every queued record durable in the write-ahead
        file (what is not there yet), and let later submits append there themselves."""
        if self.wal is None:
            return
        try:
            with self._cond:
                if self._closed:
                    return
                self._degraded = True
                skip = max(self._wal_seq - self._done, 0)
                fresh = list(itertools.islice(self._queue, skip, None))
                if not fresh:
                    return
                seq = self._submitted
                token = self.wal.append(fresh, seq)
                self._wal_seq = seq
            self.wal.sync(token)
        except OSError as exc:
            logger.error("prediction write-ahead file failed: %s", exc)
            return
        with self._cond:
            self._wal_synced = max(self._wal_synced, seq)
            self._advance()

    # -- spill (see .spill) ---------------------------------------------------------------

    def spill_files(self) -> list[Path]:
        """Spill files waiting for a replay."""
        return spill_files(self.spill_dir)

    def replay_spill(self) -> int:
        """Re-insert every spilled record (idempotent) and delete the files; returns rows inserted."""
        return replay_spill(self.store, self.spill_dir)

    def replay_wal(self) -> int:
        """Re-insert the write-ahead segments of dead processes (kill -9); returns rows inserted."""
        return 0 if self.wal is None else replay_wal(self.store, self.wal)
